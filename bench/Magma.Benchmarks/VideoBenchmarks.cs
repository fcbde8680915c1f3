using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Magma.Inference;
using Magma.Inference.Imaging;
using Magma.Inference.Video;

namespace Magma.Benchmarks;

/// <summary>
/// Video input (issue 9): 16 frames sampled uniformly from a 720p clip, decoded through ffmpeg's pipe, then
/// pre-processed as Magma's video path does (1 crop per frame: stretch to 512², normalise into pixel_values).
/// The clip (1280×720 H.264 testsrc2, 30 fps, 2 s = 60 frames or 5 s = 150 frames) is made once with ffmpeg in a
/// temp folder. Uniform sampling always includes the last frame, so ffmpeg decodes the whole clip: the cost follows
/// the clip's length, not the 16 frames.
/// </summary>
[MemoryDiagnoser]
public class VideoBenchmarks
{
    /// <summary>Clip length in seconds (30 frames each).</summary>
    [Params(2, 5)]
    public int Seconds { get; set; }

    private readonly ImagePreprocessor _preprocessor = new(PreprocessorConfig.Default);
    private readonly VideoReader _reader = new();
    private readonly VideoReader _coldReader = new(new VideoDecoderOptions { KeepDecoderWarm = false });
    private readonly VideoSampling _sixteen = new() { FrameCount = 16 };
    private string _dir = "";
    private string _clip = "";
    private float[] _pixels = [];
    private FrameShaper _shaper = null!;
    private IReadOnlyList<VideoFrame> _decoded = [];
    private MagmaModel _model = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_dir, _clip) = MakeClip(Seconds);

        _shaper = new FrameShaper(_preprocessor, maxCrops: 1);
        _pixels = new float[_preprocessor.GetPixelCount(new CropGrid(1, 1))];
        _decoded = _reader.SampleAsync(_clip, _sixteen).GetAwaiter().GetResult();
        // The tiny package: its tokenizer, template and 512² crops are Magma-8B's, so the budget work is the same.
        _model = MagmaModel.Load(BenchmarkAssets.PathOf("tiny-magma"), new MagmaModelOptions { IntraOpThreads = 1 });
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (VideoFrame f in _decoded)
        {
            f.Dispose();
        }

        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "Probe 720p clip (moov box reader)")]
    public async Task<int> Probe() => (await _reader.ProbeAsync(_clip)).FrameCount;

    [Benchmark(Description = "Probe 720p clip through ffprobe (the fallback path)")]
    public async Task<int> ProbeFfprobe() => (await _reader.ProbeWithFfprobeAsync(_clip, CancellationToken.None)).FrameCount;

    [Benchmark(Description = "Decode 16 frames (probe + ffmpeg pipe)")]
    public async Task<int> Decode16()
    {
        IReadOnlyList<VideoFrame> frames = await _reader.SampleAsync(_clip, _sixteen);
        foreach (VideoFrame f in frames)
        {
            f.Dispose();
        }

        return frames.Count;
    }

    [Benchmark(Description = "Pre-process 16 decoded 720p frames (1 crop each)")]
    public float Preprocess16()
    {
        float sum = 0;
        foreach (VideoFrame f in _decoded)
        {
            sum += PreprocessOne(f.Image);
        }

        return sum;
    }

    [Benchmark(Description = "Decode + pre-process 16 frames of a 720p clip (back to back: the spare ffmpeg is still starting)")]
    public Task<float> DecodeAndPreprocess16() => DecodeAndPreprocess16(_reader, _clip);

    [Benchmark(Description = "Decode + pre-process 16 frames of a 720p clip, no spare ffmpeg (KeepDecoderWarm = false)")]
    public Task<float> DecodeAndPreprocess16Cold() => DecodeAndPreprocess16(_coldReader, _clip);

    /// <summary>Probe, decode and pre-process, each frame as it arrives while ffmpeg decodes the next (as a video request does).</summary>
    internal static async Task<float> DecodeAndPreprocess16(VideoReader reader, string clip, FrameShaper shaper, ImagePreprocessor preprocessor, float[] pixels)
    {
        VideoInfo info = await reader.ProbeAsync(clip);
        float sum = 0;
        await foreach (VideoFrame f in reader.ReadFramesAsync(info, clip, FrameSampler.Uniform(info.FrameCount, 16), CancellationToken.None))
        {
            RgbImage shaped = shaper.Shape(f.Image, out byte[]? pooled);
            preprocessor.Preprocess(shaped, pixels);
            if (pooled is not null)
            {
                FrameBufferPool.Return(pooled);
            }

            sum += pixels[0];
            f.Dispose();
        }

        return sum;
    }

    private Task<float> DecodeAndPreprocess16(VideoReader reader, string clip) => DecodeAndPreprocess16(reader, clip, _shaper, _preprocessor, _pixels);

    [Benchmark(Description = "MagmaVideo.CreateRequestAsync, 16 frames (budget, decode, 1-crop shaping)")]
    public async Task<int> CreateRequest16()
    {
        using VideoRequest request = await _model.CreateRequestAsync(_clip, "What happens in the video?", _sixteen);
        return request.Request.Images.Count;
    }

    /// <summary>A 1280×720 H.264 testsrc2 clip at 30 fps in a new temp folder.</summary>
    internal static (string Dir, string Clip) MakeClip(int seconds)
    {
        string dir = Path.Combine(Path.GetTempPath(), "magma-video-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string clip = Path.Combine(dir, "clip720p.mp4");
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (string a in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", $"testsrc2=size=1280x720:rate=30:duration={seconds}", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-y", clip])
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? (dir, clip) : throw new InvalidOperationException("ffmpeg could not make the clip: " + err);
    }

    private float PreprocessOne(RgbImage frame)
    {
        RgbImage shaped = _shaper.Shape(frame, out byte[]? pooled);
        _preprocessor.Preprocess(shaped, _pixels);
        if (pooled is not null)
        {
            FrameBufferPool.Return(pooled);
        }

        return _pixels[0];
    }
}

/// <summary>
/// The same decode + pre-process after the reader has been idle (the spare ffmpeg has finished starting), as between
/// two questions while the model answers: one request per iteration, 300 ms idle before each.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class VideoAfterIdleBenchmarks
{
    /// <summary>Clip length in seconds (30 frames each).</summary>
    [Params(2, 5)]
    public int Seconds { get; set; }

    private readonly ImagePreprocessor _preprocessor = new(PreprocessorConfig.Default);
    private readonly VideoReader _reader = new();
    private string _dir = "";
    private string _clip = "";
    private float[] _pixels = [];
    private FrameShaper _shaper = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_dir, _clip) = VideoBenchmarks.MakeClip(Seconds);
        _shaper = new FrameShaper(_preprocessor, maxCrops: 1);
        _pixels = new float[_preprocessor.GetPixelCount(new CropGrid(1, 1))];
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [IterationSetup]
    public void Idle() => Thread.Sleep(300);

    [Benchmark(Description = "Decode + pre-process 16 frames of a 720p clip after 300 ms idle (spare ffmpeg ready)")]
    public Task<float> DecodeAndPreprocess16() => VideoBenchmarks.DecodeAndPreprocess16(_reader, _clip, _shaper, _preprocessor, _pixels);
}
