namespace Magma.Inference.Imaging;

/// <summary>
/// Bounds the memory of image decodes running at once: each decode enters with the bytes it will hold (scratch and
/// result) and waits while the decodes in flight hold too much. One decode larger than the capacity runs alone, so
/// every image the per-image limit allows still decodes.
/// </summary>
internal sealed class DecodeMemoryGate
{
    /// <summary>
    /// The process-wide gate of <see cref="RgbImage.Decode"/>: 1 GiB, two 64-megapixel decodes (7 bytes a pixel) at once.
    /// </summary>
    public static DecodeMemoryGate Shared { get; } = new(1L << 30);

    private readonly object _lock = new();
    private long _inUse;

    public DecodeMemoryGate(long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    public long Capacity { get; }

    /// <summary>Bytes held by the decodes in flight.</summary>
    public long InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Waits until <paramref name="bytes"/> fit beside the decodes in flight (or none is in flight), then holds them.</summary>
    public Lease Enter(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_lock)
        {
            while (!Fits(bytes))
            {
                Monitor.Wait(_lock);
            }

            _inUse += bytes;
        }

        return new Lease(this, bytes);
    }

    /// <summary>Holds <paramref name="bytes"/> if they fit now; false (holding nothing) otherwise.</summary>
    public bool TryEnter(long bytes, out Lease lease)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (_lock)
        {
            if (!Fits(bytes))
            {
                lease = default;
                return false;
            }

            _inUse += bytes;
        }

        lease = new Lease(this, bytes);
        return true;
    }

    private bool Fits(long bytes) => _inUse == 0 || _inUse + bytes <= Capacity;

    private void Exit(long bytes)
    {
        lock (_lock)
        {
            _inUse -= bytes;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Bytes held until disposed (once).</summary>
    public struct Lease : IDisposable
    {
        private DecodeMemoryGate? _gate;
        private readonly long _bytes;

        internal Lease(DecodeMemoryGate gate, long bytes)
        {
            _gate = gate;
            _bytes = bytes;
        }

        public void Dispose()
        {
            DecodeMemoryGate? gate = _gate;
            _gate = null;
            gate?.Exit(_bytes);
        }
    }
}
