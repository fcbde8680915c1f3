using Magma.Inference.Imaging;

namespace Magma.Inference.Video;

/// <summary>
/// One decoded frame of a video: its pixels, its index in the source and its presentation time. The pixel buffer is
/// rented from a pool; <see cref="Dispose"/> hands it back, after which <see cref="Image"/> must not be used (nor a
/// request that holds it).
/// </summary>
public sealed class VideoFrame : IDisposable
{
    private readonly byte[]? _pooled;
    private int _disposed;

    internal VideoFrame(RgbImage image, int index, TimeSpan? timestamp, byte[]? pooled)
    {
        Image = image;
        Index = index;
        Timestamp = timestamp;
        _pooled = pooled;
    }

    /// <summary>The frame as 8-bit RGB at the video's size.</summary>
    public RgbImage Image { get; }

    /// <summary>0-based index of the frame in the video (decode order of presented frames), or in the frame list.</summary>
    public int Index { get; }

    /// <summary>
    /// Presentation time from the start of the video: the decoder's timestamp minus the stream's start time (ffmpeg),
    /// the sum of earlier frame durations (GIF), or index / rate (frame lists given a rate); null when unknown.
    /// </summary>
    public TimeSpan? Timestamp { get; }

    /// <summary>Returns the pixel buffer to the pool.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _pooled is not null)
        {
            FrameBufferPool.Return(_pooled);
        }
    }
}
