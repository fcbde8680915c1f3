namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// Frame-sized byte arrays that one environment's observations rent and give back when disposed. A 256×256×3
/// frame is 196 KB: a new array per frame lands on the large-object heap and costs gen-2 collections (~250 µs per
/// frame amortised, 40× the copy itself). In the episode loop two observations are alive at a time, so a handful
/// of arrays per size serve every step. Thread-safe: the environment's thread rents, the caller's thread returns.
/// </summary>
internal sealed class FrameBufferPool
{
    // Per size: at most this many idle arrays are kept; more are left to the GC. A disposed observation gives back up
    // to five frames of one size (agent view, wrist view, camera view, rotated view, model frame) for the next to rent.
    private const int MaxIdlePerSize = 5;
    private readonly Dictionary<int, Stack<byte[]>> _idle = [];
    private readonly Lock _gate = new();

    /// <summary>Arrays handed out that were not reused from the pool (tests and benchmarks check the steady state).</summary>
    internal int Allocations { get; private set; }

    /// <summary>
    /// Arrays rented and not yet returned: the frames of live observations. Tests check that it stays bounded (an
    /// observation that is dropped without <c>Dispose</c> keeps its arrays counted here for ever).
    /// </summary>
    internal int Outstanding { get; private set; }

    /// <summary>An array of exactly <paramref name="length"/> bytes, contents unspecified.</summary>
    internal byte[] Rent(int length)
    {
        lock (_gate)
        {
            Outstanding++;
            if (_idle.TryGetValue(length, out Stack<byte[]>? stack) && stack.Count > 0)
            {
                return stack.Pop();
            }

            Allocations++;
        }

        return GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Gives an array back; the caller must no longer read or write it, nor anything that wraps it.</summary>
    internal void Return(byte[]? array)
    {
        if (array is null)
        {
            return;
        }

        lock (_gate)
        {
            Outstanding--;
            if (!_idle.TryGetValue(array.Length, out Stack<byte[]>? stack))
            {
                _idle[array.Length] = stack = new Stack<byte[]>(MaxIdlePerSize);
            }

            if (stack.Count < MaxIdlePerSize)
            {
                stack.Push(array);
            }
        }
    }
}
