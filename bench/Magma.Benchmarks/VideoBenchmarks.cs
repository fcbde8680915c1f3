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
        _dir = Path.Combine(Path.GetTempPath(), "magma-video-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _clip = Path.Combine(_dir, "clip720p.mp4");
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (string a in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", $"testsrc2=size=1280x720:rate=30:duration={Seconds}", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-y", _clip])
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("ffmpeg could not make the clip: " + err);
        }

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

    [Benchmark(Description = "Decode + pre-process 16 frames of a 720p clip")]
    public async Task<float> DecodeAndPreprocess16()
    {
        VideoInfo info = await _reader.ProbeAsync(_clip);
        float sum = 0;
        // Frames are pre-processed as they arrive, while ffmpeg decodes the next ones (as CreateRequestAsync does).
        await foreach (VideoFrame f in _reader.ReadFramesAsync(info, _clip, FrameSampler.Uniform(info.FrameCount, 16), CancellationToken.None))
        {
            sum += PreprocessOne(f.Image);
            f.Dispose();
        }

        return sum;
    }

    [Benchmark(Description = "MagmaVideo.CreateRequestAsync, 16 frames (budget, decode, 1-crop shaping)")]
    public async Task<int> CreateRequest16()
    {
        using VideoRequest request = await _model.CreateRequestAsync(_clip, "What happens in the video?", _sixteen);
        return request.Request.Images.Count;
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
