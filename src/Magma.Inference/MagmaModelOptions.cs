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

    // Knobs the GPU benchmark turns to measure what load time and memory cost (bench/Magma.Bench.Gpu); the defaults are
    // the measured choice (docs/perf.md, "Load time and memory").

    /// <summary>cuDNN's convolution algorithm choice for the vision graph: EXHAUSTIVE, HEURISTIC or DEFAULT (ORT's names).</summary>
    internal string ConvAlgoSearch { get; init; } = "HEURISTIC";

    /// <summary>Whether cuDNN may pick algorithms whose workspace is as large as the free memory (ORT's default) or at most 32 MB.</summary>
    internal bool ConvMaxWorkspace { get; init; } = true;

    /// <summary>ORT's per-shape GEMM tuning in the decoder (each new M is timed on first use).</summary>
    internal bool GemmAutoTune { get; init; } = true;

    /// <summary>Create the vision session (and on CUDA warm it up) beside the embed and decoder sessions.</summary>
    internal bool ParallelLoad { get; init; } = true;

    /// <summary>CUDA provider settings for the vision graph that replace the engine's (e.g. prefer_nhwc=0); benchmarks only.</summary>
    internal IReadOnlyDictionary<string, string>? VisionCudaOverrides { get; init; }

    /// <summary>Return the vision graph's unused arena memory to the device after each vision run (its activations and cuDNN workspace).</summary>
    internal bool ShrinkVisionArena { get; init; }

    /// <summary>
    /// Crop counts one vision run may take (an image's crops run in the largest that fit, then smaller; 1 is always
    /// allowed); null: all of an image's crops in one run. With {4, 1} only two input shapes exist to warm up.
    /// </summary>
    internal IReadOnlyList<int>? VisionBatchSizes { get; init; }

    /// <summary>Crop counts the vision warm-up runs; null: every count an image can have (1..num_crops).</summary>
    internal IReadOnlyList<int>? WarmUpCrops { get; init; }
}
