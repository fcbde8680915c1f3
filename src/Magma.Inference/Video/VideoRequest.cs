namespace Magma.Inference.Video;

/// <summary>
/// A request over video frames, ready for <see cref="MagmaModel.GenerateAsync"/> or <see cref="MagmaModel.StreamAsync"/>,
/// with the frames it shows and what the budget chose. It owns pooled frame buffers: dispose it after the request
/// has run (the request must not be used afterwards).
/// </summary>
public sealed class VideoRequest : IDisposable
{
    private readonly IReadOnlyList<byte[]> _shaped;
    private int _disposed;

    internal VideoRequest(MagmaRequest request, IReadOnlyList<VideoFrame> frames, VideoPlan plan, IReadOnlyList<byte[]> shaped)
    {
        Request = request;
        Frames = frames;
        Plan = plan;
        _shaped = shaped;
    }

    /// <summary>The request: one image placeholder per frame, frames in order, then the question.</summary>
    public MagmaRequest Request { get; }

    /// <summary>The sampled frames (source index and timestamp kept), in the order the model sees them.</summary>
    public IReadOnlyList<VideoFrame> Frames { get; }

    /// <summary>Frame count, crops per frame and positions the budget chose.</summary>
    public VideoPlan Plan { get; }

    /// <summary>Returns the frame buffers to the pool.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (VideoFrame f in Frames)
        {
            f.Dispose();
        }

        foreach (byte[] b in _shaped)
        {
            FrameBufferPool.Return(b);
        }
    }
}
