using System.Globalization;

namespace Magma.Inference.Video;

/// <summary>
/// How to pick frames from a video: how many (or at which rate), from which part, and how many crops each frame may
/// use. The defaults are Magma's video setting: up to 32 frames sampled uniformly over the whole video
/// (lmms-eval's <c>max_frames_num</c>), one 512² crop per frame (Magma's video training), as many frames as the
/// context allows.
/// </summary>
public sealed record VideoSampling
{
    /// <summary>The default: automatic frame count up to 32, whole video, 1 crop per frame.</summary>
    public static VideoSampling Default { get; } = new();

    /// <summary>
    /// Exactly this many frames, uniformly spaced (<see cref="FrameSampler.Uniform"/>); capped at the frames the
    /// video (or range) has. A request that cannot fit them fails with the number that would fit. Null: as many as
    /// fit, at most <see cref="MaxFrames"/>.
    /// </summary>
    public int? FrameCount { get; init; }

    /// <summary>
    /// Sample at this rate instead of by count (frame shown at <c>start + k / rate</c>); the frames this yields must
    /// fit the context. Null: sample by count.
    /// </summary>
    public double? FramesPerSecond { get; init; }

    /// <summary>Start of the time range (inclusive); null for the beginning.</summary>
    public TimeSpan? Start { get; init; }

    /// <summary>End of the time range (exclusive); null for the end of the video.</summary>
    public TimeSpan? End { get; init; }

    /// <summary>Most frames of an automatic count (<see cref="FrameCount"/> null). Default 32 (lmms-eval's Magma setting).</summary>
    public int MaxFrames { get; init; } = 32;

    /// <summary>
    /// Most crops per frame. Default 1 (Magma's video training: one 512² crop, 272 image embeddings per frame);
    /// up to the package's <c>num_crops</c> (4: lmms-eval's setting). The budget lowers it before it drops frames.
    /// </summary>
    public int MaxCropsPerFrame { get; init; } = 1;

    /// <summary>Throws <see cref="MagmaInputException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (FrameCount is < 1)
        {
            throw new MagmaInputException($"VideoSampling.FrameCount is {FrameCount}; ask for at least 1 frame, or leave it null for as many as fit.");
        }

        if (FramesPerSecond is { } f && (!double.IsFinite(f) || f <= 0))
        {
            throw new MagmaInputException(string.Create(CultureInfo.InvariantCulture, $"VideoSampling.FramesPerSecond is {f}; use a positive rate such as 1 or 0.5, or null to sample by count."));
        }

        if (FramesPerSecond is not null && FrameCount is not null)
        {
            throw new MagmaInputException("VideoSampling sets both FrameCount and FramesPerSecond; set one of them.");
        }

        if (Start is { } s && s < TimeSpan.Zero)
        {
            throw new MagmaInputException($"VideoSampling.Start is {s}; it must not be negative.");
        }

        if (Start is { } a && End is { } b && b <= a)
        {
            throw new MagmaInputException($"VideoSampling.End ({b}) must be after Start ({a}).");
        }

        if (MaxFrames < 1)
        {
            throw new MagmaInputException($"VideoSampling.MaxFrames is {MaxFrames}; it must be at least 1.");
        }

        if (MaxCropsPerFrame < 1)
        {
            throw new MagmaInputException($"VideoSampling.MaxCropsPerFrame is {MaxCropsPerFrame}; it must be at least 1.");
        }
    }
}
