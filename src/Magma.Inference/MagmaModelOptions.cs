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
    /// CUDA only: at load, run every graph once per shape a request uses (vision for one crop, or for num_crops crops
    /// with <see cref="VisionRunsAllCrops"/>; a prefill; decode steps) so cuDNN's per-shape set-up and the CUDA graph
    /// capture happen before the first request. Default true.
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
    /// runs use the GPU better and need more activation memory. On CUDA a run is further cut into runs of one crop (or of
    /// num_crops and 1 with <see cref="VisionRunsAllCrops"/>), the vision shape warmed up at load. Default 16.
    /// </summary>
    public int MaxVisionCropsPerRun { get; init; } = 16;

    /// <summary>
    /// Batching: the most positions (prompts × the longest prompt's length, padding included) that one decoder run
    /// prefills; prompts of similar length are prefilled together up to it. Default 8192.
    /// </summary>
    public int MaxBatchPrefillPositions { get; init; } = 8192;

    /// <summary>
    /// CUDA only: after each image, give the vision graph's activations and cuDNN workspaces back to the device, and cap
    /// cuDNN's workspace at 32 MB, for cards where every gigabyte counts. Measured on the H200 with the int4 package
    /// (docs/perf.md, "Load time, memory and the decode profile"): about 0.85 GiB less memory in use after the LIBERO,
    /// UI and batched steps and 1.2 GiB lower peak, for vision about 40 % slower in fours (6.6 to 9.1 ms per crop) and
    /// LIBERO steps about 4 % slower. Default false.
    /// </summary>
    public bool ReleaseVisionMemory { get; init; }

    /// <summary>
    /// Keep the token embedding table (embed.onnx) in host memory and look tokens up on the CPU; on CUDA each decode step
    /// then copies one row (hidden size × element size: 8 KB for Magma-8B in fp16) into the buffer the decoder reads
    /// (the captured CUDA graph's input), and a prompt's rows go up with its merged embeddings as before. Saves the
    /// table's GPU memory: 0.49 GiB for the int8 table of an int4 Magma-8B package, 1.0 GiB in fp16. Results are those
    /// of the table on the GPU up to the rounding of the int8 rows' scaling (CPU and GPU kernels). On the CPU the table is
    /// in host memory anyway (the option only adds the row copy). Null (the default): on for quantized (int4) packages on
    /// CUDA, off otherwise. Measured on the H200 with the int4 package (docs/perf.md, "Session 6 hold"): logits identical to
    /// the table on the GPU, 0.6 GiB less after load (8.65 to 8.02 GiB) and 0.9 GiB lower peak (9.74 to 8.86), decode and
    /// the LIBERO and UI steps no slower (3.78 vs 3.80 ms per token, 53.0 vs 55.7 ms, 192.9 vs 200.7 ms); a text-only
    /// prefill of 312 positions 1.5-1.8 ms slower (its rows are looked up on the host and copied up). Set false to keep
    /// the table on the GPU, true to move a float package's table too.
    /// </summary>
    public bool? EmbeddingOnCpu { get; init; }

    /// <summary>
    /// CUDA only: run an image's crops through the vision encoder num_crops at a time (the other counts one crop per run)
    /// and warm up that shape at load, instead of one crop per run (the default). For a workload whose images are all
    /// num_crops-crop screenshots (a web agent): vision in fours was measured at 7.9 instead of 10.1 ms per crop on the
    /// H200 (fp16), about 9 ms less per 4-crop UI step. But ONNX Runtime's convolutions keep the cuDNN set-up of one input
    /// shape per node, and every switch between a 1-crop and a num_crops-crop run was measured at 6 to 8 s: with this option
    /// any image of fewer crops (a LIBERO frame, a small image, the last crops of a batch) after a full one, and the next
    /// full one after it, each stall that long. Default false; ignored on the CPU, whose runs take all of an image's crops.
    /// </summary>
    public bool VisionRunsAllCrops { get; init; }

    /// <summary>
    /// CUDA only, with <see cref="WarmUp"/>: <see cref="MagmaModel.Load"/> returns once the text graphs are warm and the
    /// vision shape (one crop, or num_crops crops with <see cref="VisionRunsAllCrops"/>; seconds of cuDNN set-up) warms up on a background thread
    /// (<see cref="MagmaModel.BackgroundWarmUp"/>). Text-only requests run at once; a request with an image waits until
    /// that warm-up has ended: ONNX Runtime's convolution kernels keep the cuDNN set-up of one input shape per node,
    /// behind a per-node lock held for the whole run, so a vision run beside the warm-up would wait for it node by node
    /// anyway and then set every node up again. Default false.
    /// </summary>
    public bool WarmUpVisionInBackground { get; init; }

    // Knobs the GPU benchmark turns to measure what load time and memory cost (bench/Magma.Bench.Gpu); the defaults are
    // the measured choice (docs/perf.md, "Load time and memory").

    /// <summary>cuDNN's convolution algorithm choice for the vision graph: EXHAUSTIVE, HEURISTIC or DEFAULT (ORT's names).</summary>
    internal string ConvAlgoSearch { get; init; } = "HEURISTIC";

    /// <summary>Whether cuDNN may pick algorithms whose workspace is as large as the free memory (ORT's default) or at most 32 MB; null: not with <see cref="ReleaseVisionMemory"/>.</summary>
    internal bool? ConvMaxWorkspace { get; init; }

    /// <summary>ORT's per-shape GEMM tuning in the decoder (each new M is timed on first use).</summary>
    internal bool GemmAutoTune { get; init; } = true;

    /// <summary>Create the vision session (and on CUDA warm it up) beside the embed and decoder sessions.</summary>
    internal bool ParallelLoad { get; init; } = true;

    /// <summary>CUDA provider settings for the vision graph that replace the engine's (e.g. prefer_nhwc=0); benchmarks only.</summary>
    internal IReadOnlyDictionary<string, string>? VisionCudaOverrides { get; init; }

    /// <summary>Return the vision graph's unused arena memory to the device after each vision run; null: <see cref="ReleaseVisionMemory"/>.</summary>
    internal bool? ShrinkVisionArena { get; init; }

    /// <summary>
    /// Crop counts one vision run may take (an image's crops run in the largest that fits, then smaller; 1 is always
    /// allowed). Null: on CUDA {1}, one input shape (every switch of shape costs 6-8 s of cuDNN set-up: ONNX Runtime keeps
    /// the last shape's per node), or {num_crops, 1} with <see cref="VisionRunsAllCrops"/>; on the CPU all of an image's
    /// crops in one run.
    /// </summary>
    internal IReadOnlyList<int>? VisionBatchSizes { get; init; }

    /// <summary>
    /// Crop counts the vision warm-up runs; null: the largest vision batch size only (the last shape run is the only one
    /// whose set-up survives, so warming another first would be lost), every count 1..num_crops when unbounded.
    /// </summary>
    internal IReadOnlyList<int>? WarmUpCrops { get; init; }

    /// <summary>
    /// How prompts are prefilled: at their own length, or padded to one of a few widths (steps of 64 positions up to
    /// 1,024, of 128 up to 2,048, of 256 beyond) with their last position fed by the first decode step. Padding changes no
    /// result by construction (the pads come after the prompt, which causal attention keeps them from reaching), but GPU
    /// matrix products of another size round differently; <see cref="PrefillBucketing.Off"/> prefills every prompt at its
    /// own length. Null: <see cref="PrefillBucketing.NewLengths"/> on CUDA,
    /// <see cref="PrefillBucketing.Off"/> on the CPU (its kernels have no per-shape set-up, so padding would only cost).
    /// On the H200 (docs/perf.md, "GPU hold of 2026-12-03") a prompt length new to the process prefilled in 52.7 ms off
    /// vs 18.8 ms padded (290-299 positions) and 73.4 vs 40.9 ms (1100-1109); a UI step's first token at a new length
    /// came after 131.0 vs 76.6 ms. NewLengths rather than <see cref="PrefillBucketing.Always"/>: a length that comes
    /// again (a robot's fixed prompt) runs exactly from its second request on, paying its shape's first exact run once
    /// (prefill 312: p90 59.9 ms, median 12.1), where Always would pay the padded prefill's extra decode step on every
    /// request (padded 18.8 ms vs exact 12.1 at about 300 positions: some 10 % of a 62 ms LIBERO step; Always itself was
    /// not measured). The warm-up of the widths adds 1.6 s to CUDA loads.
    /// </summary>
    public PrefillBucketing? PrefillBuckets { get; init; }

    /// <summary>CUDA warm-up: run every padded prefill width once at load, so no request pays a width's first run.</summary>
    internal bool WarmPrefillBuckets { get; init; } = true;

    /// <summary>
    /// The widest padded prefill the warm-up runs (wider ones pay their first run once, on first use): each width's run
    /// grows the decoder's activation arena to what that width needs, and the arena keeps it. Default 2,048 positions
    /// (two 4-crop screenshots and their text).
    /// </summary>
    internal int WarmPrefillUpTo { get; init; } = 2048;

    /// <summary>
    /// CUDA: replay each vision batch size's run as a CUDA graph (bound device buffers; captured after ONNX Runtime's
    /// first plain runs of that size); on the CPU the same bound runs without capture. Off: its first GPU run (H200,
    /// 2026-12-03) failed at capture on the row separator output's synchronous copy, since bound out of the capture
    /// (see MagmaSessions); not measured since. What it may buy: about 2.7 ms per crop in fours is host and launch time
    /// (7.9 ms measured vs 5.2 ms of kernels, docs/perf.md).
    /// </summary>
    internal bool VisionCudaGraphs { get; init; }

    /// <summary>Where ONNX Runtime writes its profile of the vision session (path prefix; null: no profiling); benchmarks only.</summary>
    internal string? VisionProfilePrefix { get; init; }

    internal PrefillBucketing EffectivePrefillBuckets => PrefillBuckets ?? (Device == MagmaDevice.Cuda ? PrefillBucketing.NewLengths : PrefillBucketing.Off);

    internal bool EffectiveShrinkVisionArena => ShrinkVisionArena ?? ReleaseVisionMemory;

    internal bool EffectiveConvMaxWorkspace => ConvMaxWorkspace ?? !ReleaseVisionMemory;

    /// <summary>The crop counts of a vision run (see <see cref="VisionBatchSizes"/>), largest first; null: unbounded.</summary>
    internal int[]? ResolveVisionBatchSizes(int numCrops)
    {
        IEnumerable<int>? sizes = VisionBatchSizes ?? (Device != MagmaDevice.Cuda ? null : VisionRunsAllCrops ? [numCrops, 1] : [1]);
        return sizes is null ? null : [.. sizes.Where(x => x > 0).Append(1).Distinct().OrderDescending()];
    }

    /// <summary>The crop counts the CUDA vision warm-up runs (see <see cref="WarmUpCrops"/>).</summary>
    internal int[] ResolveWarmUpCrops(int numCrops)
    {
        int[]? sizes = ResolveVisionBatchSizes(numCrops);
        return WarmUpCrops is { } crops ? [.. crops] : sizes is null ? [.. Enumerable.Range(1, numCrops)] : [sizes[0]];
    }

    /// <summary>Whether the token embedding table stays on the host (see <see cref="EmbeddingOnCpu"/>).</summary>
    internal bool ResolveEmbeddingOnCpu(Magma.Inference.Package.WeightQuantization? quantization) =>
        EmbeddingOnCpu ?? (Device == MagmaDevice.Cuda && quantization is not null);
}
