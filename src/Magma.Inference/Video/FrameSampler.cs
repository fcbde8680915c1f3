using System.Globalization;

namespace Magma.Inference.Video;

/// <summary>
/// Which frames of a video to show the model. Uniform sampling is Magma's lmms-eval rule: for N frames out of T,
/// frame <c>i</c> (0-based) is <c>floor(i · (T − 1) / (N − 1))</c> — <c>numpy.linspace(0, T − 1, N, dtype=int)</c>,
/// which computes <c>i · step</c> in double precision with <c>step = (T − 1) / (N − 1)</c>, forces the last value to
/// <c>T − 1</c> and floors. N = 1 gives frame 0. Unlike numpy, N larger than T gives every frame once (no repeats).
/// </summary>
public static class FrameSampler
{
    /// <summary>Uniformly spaced frame indices, first and last frame included (see the type's remarks).</summary>
    /// <param name="totalFrames">Frames available (T), at least 1.</param>
    /// <param name="count">Frames wanted (N), at least 1; capped at <paramref name="totalFrames"/>.</param>
    /// <returns>Strictly increasing indices in [0, T − 1].</returns>
    public static int[] Uniform(int totalFrames, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalFrames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int n = Math.Min(count, totalFrames);
        var indices = new int[n];
        if (n == 1)
        {
            return indices;
        }

        // numpy: y = arange(n) * step + 0, y[-1] = stop, floor. Same double arithmetic, same rounding.
        double step = (double)(totalFrames - 1) / (n - 1);
        for (int i = 0; i < n - 1; i++)
        {
            indices[i] = (int)Math.Floor(i * step);
        }

        indices[n - 1] = totalFrames - 1;
        return indices;
    }

    /// <summary>
    /// The frame indices <paramref name="sampling"/> selects from a video described by <paramref name="info"/>:
    /// the frames whose time <c>index / fps</c> lies in [<see cref="VideoSampling.Start"/>, <see cref="VideoSampling.End"/>),
    /// then either <paramref name="count"/> of them uniformly (<see cref="Uniform"/> over that range) or, with
    /// <see cref="VideoSampling.FramesPerSecond"/> = f, the frame shown at each time <c>start + k / f</c>
    /// (index <c>floor(t · fps)</c>).
    /// </summary>
    /// <param name="info">Frame count and rate of the source.</param>
    /// <param name="sampling">Range and rate.</param>
    /// <param name="count">Frames for uniform sampling; ignored when sampling at a rate.</param>
    /// <exception cref="MagmaInputException">The range holds no frame, or a rate is asked of a source with no frame rate.</exception>
    public static int[] Select(VideoInfo info, VideoSampling sampling, int count)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(sampling);
        (int first, int end) = Range(info, sampling);
        if (sampling.FramesPerSecond is not double rate)
        {
            int[] local = Uniform(end - first, count);
            for (int i = 0; i < local.Length; i++)
            {
                local[i] += first;
            }

            return local;
        }

        double fps = RequireRate(info, "VideoSampling.FramesPerSecond");
        // Faster than the video's own rate only repeats frames (which are dropped): cap it, so the loop is bounded by the frame count.
        rate = Math.Min(rate, fps);
        double start = first / fps;
        var picked = new List<int>();
        for (long k = 0; ; k++)
        {
            double t = start + (k / rate);
            // The epsilon keeps 0.3 s · 10 fps on frame 3 (binary 2.9999...).
            int index = (int)Math.Floor((t * fps) + 1e-9);
            if (index >= end)
            {
                break;
            }

            if (picked.Count == 0 || picked[^1] != index)
            {
                picked.Add(Math.Max(index, first));
            }
        }

        return [.. picked];
    }

    /// <summary>Frames in the sampling's time range: [first, end).</summary>
    internal static (int First, int End) Range(VideoInfo info, VideoSampling sampling)
    {
        sampling.Validate();
        int first = 0, end = info.FrameCount;
        if (sampling.Start is { } s && s > TimeSpan.Zero)
        {
            double fps = RequireRate(info, "VideoSampling.Start");
            first = (int)Math.Ceiling((s.TotalSeconds * fps) - 1e-9);
        }

        if (sampling.End is { } e)
        {
            double fps = RequireRate(info, "VideoSampling.End");
            end = (int)Math.Min(end, Math.Ceiling((e.TotalSeconds * fps) - 1e-9));
        }

        if (first >= end)
        {
            throw new MagmaInputException(string.Create(
                CultureInfo.InvariantCulture,
                $"Video '{info.Source}': the time range {Describe(sampling.Start)}..{Describe(sampling.End)} holds no frame (the video has {info.FrameCount} frames at {info.FramesPerSecond:0.###} fps, {info.Duration.TotalSeconds:0.###} s). Pick a range inside the video."));
        }

        return (first, end);
    }

    private static double RequireRate(VideoInfo info, string field)
    {
        if (info.FramesPerSecond > 0 && double.IsFinite(info.FramesPerSecond))
        {
            return info.FramesPerSecond;
        }

        throw new MagmaInputException(
            $"{field} needs the frame rate of '{info.Source}', which has none (a list of frames given without fps). Pass the frame rate or sample by count.");
    }

    private static string Describe(TimeSpan? t) =>
        t is { } v ? v.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s" : "-";
}
