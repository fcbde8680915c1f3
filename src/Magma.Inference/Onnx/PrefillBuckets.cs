namespace Magma.Inference.Onnx;

/// <summary>
/// The few prefill widths a padded prefill runs at. On the H200 a prompt of a length the process has not run before
/// took 60-90 ms to prefill instead of 13-18 ms (docs/perf.md, "prefill of a length the process has not seen
/// before"): ONNX Runtime times GEMM candidates for each new M, and keeps other per-shape state. Rounding the prompt
/// up to one of these widths bounds the shapes to a few dozen that the load warms up; steps of 64 positions up to
/// 1,024, 128 up to 2,048 and 256 beyond keep the padding under 7 % of a prompt of 1,000 positions or more.
/// </summary>
internal static class PrefillBuckets
{
    /// <summary>The width of a padded prefill of <paramref name="positions"/> positions, at most <paramref name="max"/>.</summary>
    public static int Width(int positions, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(positions);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, positions);
        int step = positions <= 1024 ? 64 : positions <= 2048 ? 128 : 256;
        return (int)Math.Min(max, ((long)positions + step - 1) / step * step);
    }

    /// <summary>Every width <see cref="Width"/> returns for 1..<paramref name="max"/> positions, smallest first.</summary>
    public static IEnumerable<int> Sizes(int max)
    {
        for (int w = Width(1, max); ; w = Width(w + 1, max))
        {
            yield return w;
            if (w >= max)
            {
                yield break;
            }
        }
    }
}
