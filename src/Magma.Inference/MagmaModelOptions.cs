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

    /// <summary>
    /// CUDA only: capture the one-token decode step as a CUDA graph and replay it (float16 packages, whose every node
    /// runs on the GPU). The cache then lives as long as the model, sized to <see cref="MaxSequenceLength"/>. Default true.
    /// </summary>
    public bool CudaGraphs { get; init; } = true;

    /// <summary>
    /// CUDA only: at load, run every graph once per shape a request uses (vision for 1 and 4 crops, a prefill, decode
    /// steps) so cuDNN's algorithm search and the CUDA graph capture happen before the first request. Default true.
    /// </summary>
    public bool WarmUp { get; init; } = true;
}
