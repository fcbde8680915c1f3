using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The key/value cache of one request, allocated once at the request's final length and reused every step.
/// Shared mode (GroupQueryAttention graphs): each layer's K and V is one [1,KV,capacity,D] buffer bound as both
/// past and present, so the graph appends in place. Ping-pong mode (graphs that Concat past and new KV): two
/// buffers per tensor; each step reads one as [1,KV,P,D] and the graph writes [1,KV,P+T,D] into the other,
/// which is the least copying such a graph allows (the Concat itself is the only copy).
/// </summary>
internal sealed class KvCache : IDisposable
{
    private readonly NativeBuffer[] _buffers;
    private readonly OrtValue[]? _shared;
    private readonly TensorElementType _type;
    private readonly int _layers;
    private readonly int _kvHeads;
    private readonly int _headDim;

    public KvCache(Func<long, NativeBuffer> allocate, TensorElementType type, int layers, int kvHeads, int headDim, int capacity, bool shared)
    {
        _type = type;
        _layers = layers;
        _kvHeads = kvHeads;
        _headDim = headDim;
        Capacity = capacity;
        Shared = shared;
        long bytes = (long)kvHeads * capacity * headDim * NativeBuffer.ElementSize(type);
        int count = layers * 2 * (shared ? 1 : 2);
        _buffers = new NativeBuffer[count];
        try
        {
            for (int i = 0; i < count; i++)
            {
                _buffers[i] = allocate(bytes);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        BytesAllocated = bytes * count;
        if (shared)
        {
            _shared = new OrtValue[layers * 2];
            for (int i = 0; i < _shared.Length; i++)
            {
                _shared[i] = _buffers[i].View(type, [1, kvHeads, capacity, headDim]);
            }
        }
    }

    /// <summary>Positions the cache can hold.</summary>
    public int Capacity { get; }

    /// <summary>True when past and present share one buffer per tensor.</summary>
    public bool Shared { get; }

    /// <summary>Total bytes of cache memory this request holds.</summary>
    public long BytesAllocated { get; }

    /// <summary>Number of cache buffers this request holds.</summary>
    public int BufferCount => _buffers.Length;

    /// <summary>The [1,KV,capacity,D] value bound as past and present of layer <paramref name="layer"/> (shared mode).</summary>
    public OrtValue SharedValue(int layer, bool value) => _shared![(layer * 2) + (value ? 1 : 0)];

    /// <summary>A view of the ping-pong buffer <paramref name="side"/> holding <paramref name="length"/> positions.</summary>
    public OrtValue PingPongView(int layer, bool value, int side, int length) =>
        _buffers[(((layer * 2) + (value ? 1 : 0)) * 2) + side].View(_type, [1, _kvHeads, length, _headDim]);

    public void Dispose()
    {
        if (_shared is not null)
        {
            foreach (OrtValue v in _shared)
            {
                v?.Dispose();
            }
        }

        foreach (NativeBuffer b in _buffers)
        {
            b?.Dispose();
        }
    }

    internal int Layers => _layers;
}
