using System.Runtime.CompilerServices;
using Magma.Inference.Imaging;

namespace Magma.Inference.Video;

/// <summary>A probed video source: a file (read through <see cref="VideoReader"/>) or an in-memory list of frames.</summary>
internal sealed class VideoClip
{
    private readonly VideoReader? _reader;
    private readonly IReadOnlyList<RgbImage>? _frames;

    private VideoClip(VideoInfo info, VideoReader? reader, IReadOnlyList<RgbImage>? frames)
    {
        Info = info;
        _reader = reader;
        _frames = frames;
    }

    public VideoInfo Info { get; }

    /// <summary>Whether reading decodes frames (a file); in-memory frames are already decoded.</summary>
    public bool Decodes => _frames is null;

    public static async Task<VideoClip> OpenAsync(VideoReader reader, string path, CancellationToken cancellationToken) =>
        new(await reader.ProbeAsync(path, cancellationToken).ConfigureAwait(false), reader, null);

    public static VideoClip FromFrames(IReadOnlyList<RgbImage> frames, double framesPerSecond, string source)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0)
        {
            throw new MagmaInputException($"{source} holds no frames; pass at least one image.");
        }

        for (int i = 0; i < frames.Count; i++)
        {
            if (frames[i] is null)
            {
                throw new MagmaInputException($"{source}: frame {i} is null.");
            }
        }

        double fps = framesPerSecond > 0 && double.IsFinite(framesPerSecond) ? framesPerSecond : 0;
        var info = new VideoInfo(source, frames[0].Width, frames[0].Height, frames.Count, fps, fps > 0 ? TimeSpan.FromSeconds(frames.Count / fps) : TimeSpan.Zero);
        return new VideoClip(info, null, frames);
    }

    /// <summary>Frames the sampling yields: fixed for a rate, else how many the range holds (the most a count can get).</summary>
    public int Available(VideoSampling sampling)
    {
        if (sampling.FramesPerSecond is not null)
        {
            return FrameSampler.Select(Info, sampling, 1).Length;
        }

        (int first, int end) = FrameSampler.Range(Info, sampling);
        return end - first;
    }

    /// <summary>The frames at <paramref name="indices"/>, as the decoder delivers them (so callers overlap their work with decoding).</summary>
    public async IAsyncEnumerable<VideoFrame> ReadAsync(int[] indices, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_frames is not null)
        {
            double fps = Info.FramesPerSecond;
            foreach (int i in indices)
            {
                yield return new VideoFrame(_frames[i], i, fps > 0 ? TimeSpan.FromSeconds(i / fps) : null, pooled: null);
            }

            yield break;
        }

        await foreach (VideoFrame frame in _reader!.ReadFramesAsync(Info, Info.Source, indices, cancellationToken).ConfigureAwait(false))
        {
            yield return frame;
        }
    }
}
