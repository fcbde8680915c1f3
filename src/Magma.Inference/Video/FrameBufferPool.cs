using System.Collections.Concurrent;

namespace Magma.Inference.Video;

/// <summary>
/// Exact-length byte arrays for frames (an <see cref="Imaging.RgbImage"/> wraps an array of exactly
/// width × height × 3 bytes, so <see cref="System.Buffers.ArrayPool{T}"/>'s larger arrays do not fit). A video yields
/// frames of one size, so requests for the same clip size reuse the same arrays. Bounded per size.
/// </summary>
internal static class FrameBufferPool
{
    private const int MaxPerSize = 64;
    private static readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> s_free = new();

    public static byte[] Rent(int length) =>
        s_free.TryGetValue(length, out ConcurrentBag<byte[]>? bag) && bag.TryTake(out byte[]? buffer)
            ? buffer
            : GC.AllocateUninitializedArray<byte>(length);

    public static void Return(byte[] buffer)
    {
        ConcurrentBag<byte[]> bag = s_free.GetOrAdd(buffer.Length, _ => []);
        if (bag.Count < MaxPerSize)
        {
            bag.Add(buffer);
        }
    }
}
