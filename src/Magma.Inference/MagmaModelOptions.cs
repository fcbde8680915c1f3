namespace Magma.Inference;

/// <summary>How <c>MagmaModel.Load</c> creates its ONNX Runtime sessions.</summary>
public sealed class MagmaModelOptions
{
    /// <summary>Execution device; <see cref="MagmaDevice.Cpu"/> by default.</summary>
    public MagmaDevice Device { get; init; } = MagmaDevice.Cpu;

    /// <summary>CUDA device ordinal when <see cref="Device"/> is <see cref="MagmaDevice.Cuda"/>.</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Intra-op threads per session; 0 lets ONNX Runtime use one per physical core. Use 1 for tests and for GPU
    /// sessions (the CPU has almost nothing to do there).
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Upper bound on the KV cache length (prompt + generated positions) of one request; 0 means the model's
    /// <c>max_position_embeddings</c>. Each request allocates a cache sized to min(this, prompt + max new tokens).
    /// </summary>
    public int MaxSequenceLength { get; init; }
}
