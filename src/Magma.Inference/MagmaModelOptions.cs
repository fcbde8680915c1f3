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

    /// <summary>
    /// Most pixels (width × height, summed) that one request may have decoded from encoded input: the images of
    /// <see cref="MagmaModel.CreateRequest"/> (what the chat client and the CLI use) and the sampled frames of a video
    /// request. Checked from the headers before any pixel is decoded. Default 256,000,000 (768 MB of RGB: four
    /// 64-megapixel images or 32 frames of 4K video); the context length usually refuses a request long before.
    /// </summary>
    public long MaxDecodedPixelsPerRequest { get; init; } = 256_000_000;

    /// <summary>
    /// Batching (<see cref="MagmaModel.GenerateBatchAsync"/>, <see cref="MagmaBatchScheduler"/>): the most image crops
    /// that go through the vision encoder in one run; the crops of several requests are concatenated up to it. Larger
    /// runs use the GPU better and need more activation memory. Default 16.
    /// </summary>
    public int MaxVisionCropsPerRun { get; init; } = 16;

    /// <summary>
    /// Batching: the most positions (prompts × the longest prompt's length, padding included) that one decoder run
    /// prefills; prompts of similar length are prefilled together up to it. Default 8192.
    /// </summary>
    public int MaxBatchPrefillPositions { get; init; } = 8192;
}
