using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The three sessions of a package (vision, embed, decoder), validated against the manifest, plus the
/// read-only host buffers every request shares (an all-ones attention mask and 0..N-1 positions, viewed at
/// the length each step needs so no per-step buffers are made).
/// </summary>
internal sealed class MagmaSessions : IDisposable
{
    private readonly NativeBuffer _ones;
    private readonly NativeBuffer _positions;
    private readonly OrtValue?[] _maskViews;
    private readonly OrtValue?[] _positionViews;
    private readonly OrtAllocator? _deviceAllocator;
    private readonly OrtMemoryInfo? _deviceInfo;
    private readonly int _visionBatch;
    private readonly RunOptions _visionRunOptions;
    private readonly int[]? _visionSizes;

    /// <summary>Per crop count, the bound buffers of a vision run replayed as a CUDA graph (<see cref="MagmaModelOptions.VisionCudaGraphs"/>); null: plain runs.</summary>
    private readonly Dictionary<int, VisionGraph>? _visionGraphs;

    /// <summary>
    /// The row separator, kept from the first plain vision run when the runs are captured: it is a weight that ONNX
    /// Runtime's optimizer turns into an output no node writes (Identity of an initializer), and such an output is
    /// copied to a bound buffer by a synchronous copy, which CUDA refuses inside a capture ("CUDA failure 900: operation
    /// not permitted when stream is capturing", gpu_data_transfer.cc, the GPU run of 2026-12-03). So the captured runs
    /// bind the features alone.
    /// </summary>
    private byte[]? _separator;

    /// <param name="package">The validated package.</param>
    /// <param name="options">Device and load settings.</param>
    /// <param name="log">Receives each session's creation time.</param>
    /// <param name="visionSizes">Crop counts one vision run may take, largest first (<see cref="MagmaModelOptions.VisionBatchSizes"/>); null: any.</param>
    /// <param name="afterVision">
    /// Runs on the thread that created the vision session, right after it (the CUDA warm-up of the vision shapes), so that
    /// it overlaps the decoder's creation when <see cref="MagmaModelOptions.ParallelLoad"/> is on.
    /// </param>
    public MagmaSessions(
        MagmaPackage package, MagmaModelOptions options, LoadLog? log = null, int[]? visionSizes = null, Action<InferenceSession>? afterVision = null)
    {
        Package = package;
        MagmaManifest m = package.Manifest;
        FloatType = GraphContract.FloatType(m);
        bool gqa = m.Decoder.KvCacheSharing ?? GraphContract.UsesGroupQueryAttention(package.DecoderPath);
        // One buffer for past and present needs GroupQueryAttention to run where the buffer is. The CPU provider always
        // does; ORT 1.31's CUDA kernel is float16/bfloat16 only, so a float32 package's attention falls back to the CPU
        // and works on copies (on the tiny test model the shared-buffer steps then diverged). Such packages keep two
        // buffers on CUDA.
        SharedKv = gqa && (options.Device == MagmaDevice.Cpu || FloatType != TensorElementType.Float);
        UsesCudaGraphs = options.Device == MagmaDevice.Cuda && SharedKv && options.CudaGraphs;
        HostEmbedding = options.ResolveEmbeddingOnCpu(m.Quantization);
        InferenceSession? vision = null, embed = null, decoder = null;
        void CreateVision()
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            vision = SessionFactory.Create(package.VisionPath, options, GraphRole.Vision);
            GraphContract.ValidateVision(vision, m);
            log?.End("session vision", start);
            afterVision?.Invoke(vision);
        }

        void CreateText()
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            embed = SessionFactory.Create(package.EmbedPath, options, HostEmbedding ? GraphRole.HostEmbed : GraphRole.Other);
            GraphContract.ValidateEmbed(embed, m);
            log?.End("session embed", start);
            start = System.Diagnostics.Stopwatch.GetTimestamp();
            decoder = SessionFactory.Create(package.DecoderPath, options, UsesCudaGraphs ? GraphRole.DecoderWithGraphs : GraphRole.Decoder);
            GraphContract.ValidateDecoder(decoder, m);
            log?.End("session decoder", start);
        }

        try
        {
            // Session creation is mostly reading initializers (and on CUDA copying them to the device) plus graph
            // optimisation on one core: the vision graph (and its CUDA warm-up) and the text graphs go side by side.
            if (options.ParallelLoad)
            {
                Task visionTask = Task.Factory.StartNew(CreateVision, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                Exception? textError = null;
                try
                {
                    CreateText();
                }
                catch (Exception e)
                {
                    textError = e;
                }

                // The vision graph's error first, as when the sessions are made one after another.
                visionTask.GetAwaiter().GetResult();
                if (textError is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(textError).Throw();
                }
            }
            else
            {
                CreateVision();
                CreateText();
            }
        }
        catch
        {
            vision?.Dispose();
            embed?.Dispose();
            decoder?.Dispose();
            throw;
        }

        Vision = vision!;
        Embed = embed!;
        Decoder = decoder!;
        int batch = Vision.InputMetadata[m.Vision.Input].Dimensions[0];
        _visionBatch = batch > 0 ? batch : int.MaxValue;
        LogitsPruned = Decoder.OutputMetadata[m.Decoder.Logits].Dimensions[1] == 1;

        if (options.Device == MagmaDevice.Cuda)
        {
            _deviceInfo = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, options.DeviceId, OrtMemType.Default);
            _deviceAllocator = new OrtAllocator(Decoder, _deviceInfo);
        }

        int maxPos = m.Decoder.MaxPositionEmbeddings;
        _ones = NativeBuffer.Host(maxPos * 8L);
        _ones.HostSpan<long>(0, maxPos).Fill(1);
        _positions = NativeBuffer.Host(maxPos * 8L);
        Span<long> pos = _positions.HostSpan<long>(0, maxPos);
        for (int i = 0; i < maxPos; i++)
        {
            pos[i] = i;
        }

        _maskViews = new OrtValue?[maxPos + 1];
        _positionViews = new OrtValue?[maxPos];
        RunOptions = new RunOptions();
        StepRunOptions = RunOptions;
        if (UsesCudaGraphs)
        {
            // Graph id -1: run, do not capture (prompts vary in length); the one-token step is graph 1 (0 is ORT's own).
            RunOptions.AddRunConfigEntry("gpu_graph_id", "-1");
            StepRunOptions = new RunOptions();
            StepRunOptions.AddRunConfigEntry("gpu_graph_id", "1");
        }

        _visionSizes = visionSizes;
        if (options.VisionCudaGraphs)
        {
            // On the CPU the same bound-buffer runs, without capture (what the tests can check).
            _visionGraphs = [];
        }

        _visionRunOptions = RunOptions;
        if (options.Device == MagmaDevice.Cuda && (options.EffectiveShrinkVisionArena || options.VisionCudaGraphs))
        {
            _visionRunOptions = new RunOptions();
            if (options.EffectiveShrinkVisionArena)
            {
                _visionRunOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", VisionShrinkEntry(options));
            }

            if (options.VisionCudaGraphs)
            {
                // The plain run that reads the row separator is not captured (graph 0 would be, from unbound outputs).
                _visionRunOptions.AddRunConfigEntry("gpu_graph_id", "-1");
            }
        }
    }

    public MagmaPackage Package { get; }

    /// <summary>
    /// True when the graphs run on a GPU. ONNX Runtime copies a host input consumed on the device when it is bound, not
    /// when the session runs, so host buffers rewritten between runs (the step id, the static mask) must be bound again.
    /// </summary>
    public bool OnDevice => _deviceAllocator is not null;

    public MagmaManifest Manifest => Package.Manifest;

    public InferenceSession Vision { get; }

    public InferenceSession Embed { get; }

    public InferenceSession Decoder { get; }

    public RunOptions RunOptions { get; }

    /// <summary>Run options of a one-token decoder step: replays the captured CUDA graph when <see cref="UsesCudaGraphs"/>.</summary>
    public RunOptions StepRunOptions { get; }

    /// <summary>
    /// The decoder's one-token step is captured as a CUDA graph and replayed. A graph keeps the addresses it was
    /// captured with, so the step's buffers and the KV cache are made once per model (<see cref="DecodeContext"/>).
    /// </summary>
    public bool UsesCudaGraphs { get; }

    public TensorElementType FloatType { get; }

    /// <summary>
    /// The embed graph runs on the CPU (<see cref="MagmaModelOptions.EmbeddingOnCpu"/>): its outputs are host memory, which
    /// a decode step copies into the buffer the decoder reads.
    /// </summary>
    public bool HostEmbedding { get; }

    /// <summary>Past and present KV are bound to one buffer (GroupQueryAttention graphs).</summary>
    public bool SharedKv { get; }

    /// <summary>The graph's logits output has a fixed sequence dim of 1 (LM head pruned to the last token).</summary>
    public bool LogitsPruned { get; }

    /// <summary>Allocates memory where the decoder reads it: device memory on CUDA, host memory on CPU.</summary>
    public NativeBuffer AllocateDevice(long bytes) =>
        _deviceAllocator is null ? NativeBuffer.Host(bytes) : NativeBuffer.Device(_deviceAllocator, bytes);

    /// <summary>
    /// Allocates a KV cache buffer (<see cref="AllocateDevice"/>), zeroed on the GPU. Positions past a row's length are
    /// masked, but a CUDA attention kernel may still read them and weight them by zero, and 0 x NaN is NaN; arena memory
    /// reused from a vision run's fp16 activations can hold NaN or Inf (the 2026-12-03 GPU runs saw rows whose logits
    /// were all NaN, docs/perf.md). The CPU kernels never read past the length: no memset there.
    /// </summary>
    public NativeBuffer AllocateCache(long bytes)
    {
        NativeBuffer buffer = AllocateDevice(bytes);
        if (!buffer.IsHost)
        {
            buffer.Clear(0, bytes);
        }

        return buffer;
    }

    /// <summary>An all-ones [1,length] mask; cached, so steps after warm-up create nothing.</summary>
    public OrtValue MaskView(int length) =>
        _maskViews[length] ??= _ones.View(TensorElementType.Int64, [1, length]);

    /// <summary>The bytes of <paramref name="count"/> int64 ones (a prefix of the shared mask).</summary>
    public ReadOnlySpan<byte> OnesBytes(int count) => _ones.HostSpan<byte>(0, checked(count * 8));

    /// <summary>A [1,1] position-id tensor holding <paramref name="position"/>; cached.</summary>
    public OrtValue PositionView(int position) =>
        _positionViews[position] ??= _positions.View(TensorElementType.Int64, [1, 1], position * 8L);

    /// <summary>A [1,length] tensor of positions 0..length-1 (prefill); the caller disposes it.</summary>
    public OrtValue PositionRange(int length) => _positions.View(TensorElementType.Int64, [1, length]);

    /// <summary>
    /// Runs the vision graph over <paramref name="cropCount"/> crops and returns the projected features
    /// ([crops,g,g,H] raw elements) and the row separator ([H]) as bytes in the graph's dtype. At most
    /// <paramref name="maxCropsPerRun"/> crops (and the graph's own fixed batch, if it has one) go into one run.
    /// </summary>
    public (byte[] Features, byte[] Separator) EncodeCrops(ReadOnlySpan<float> pixels, int cropCount, int maxCropsPerRun = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCropsPerRun);
        // A vision run never races the background warm-up (MagmaModelOptions.WarmUpVisionInBackground); its failure surfaces here.
        VisionWarmUp.GetAwaiter().GetResult();
        int perRun = Math.Min(_visionBatch, maxCropsPerRun);
        VisionManifest v = Manifest.Vision;
        int cropPixels = 3 * v.CropSize * v.CropSize;
        int elem = NativeBuffer.ElementSize(FloatType);
        int cropFeatureBytes = v.FeatureGrid * v.FeatureGrid * v.HiddenSize * elem;
        byte[] features = GC.AllocateUninitializedArray<byte>(checked(cropCount * cropFeatureBytes));
        byte[] separator = new byte[v.HiddenSize * elem];
        string[] outputs = [v.FeaturesOutput, v.RowSeparatorOutput];
        for (int start = 0, n; start < cropCount; start += n)
        {
            n = VisionChunk(Math.Min(perRun, cropCount - start));
            ReadOnlySpan<float> chunk = pixels.Slice(start * cropPixels, n * cropPixels);
            if (_visionGraphs is not null && (start > 0 || _separator is not null))
            {
                RunVisionGraph(chunk, n, features.AsSpan(start * cropFeatureBytes, n * cropFeatureBytes));
                if (start == 0)
                {
                    _separator!.CopyTo(separator, 0);
                }

                VisionRuns++;
                BoundVisionRuns++;
                continue;
            }

            using OrtValue input = CreateFloatInput(chunk, [n, 3, v.CropSize, v.CropSize]);
            using IDisposableReadOnlyCollection<OrtValue> results = Vision.Run(_visionRunOptions, [v.Input], [input], outputs);
            VisionRuns++;
            results[0].GetTensorMutableRawData().CopyTo(features.AsSpan(start * cropFeatureBytes, n * cropFeatureBytes));
            if (start == 0)
            {
                results[1].GetTensorMutableRawData().CopyTo(separator);
                if (_visionGraphs is not null)
                {
                    _separator = [.. separator];
                }
            }
        }

        return (features, separator);
    }

    /// <summary>
    /// One vision run through the bound device buffers of its crop count, replayed as that count's CUDA graph (ONNX
    /// Runtime captures it after its first plain runs): no per-node host work, which a run of a single crop is
    /// dominated by (docs/perf.md).
    /// </summary>
    private void RunVisionGraph(ReadOnlySpan<float> pixels, int crops, Span<byte> features)
    {
        if (!_visionGraphs!.TryGetValue(crops, out VisionGraph? graph))
        {
            graph = new VisionGraph(this, crops);
            _visionGraphs[crops] = graph;
        }

        if (FloatType == TensorElementType.Float16)
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(pixels, graph.Staging);
            graph.Input.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(graph.Staging.AsSpan()));
        }
        else
        {
            graph.Input.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels));
        }

        Vision.RunWithBinding(graph.RunOptions, graph.Binding);
        graph.Features.Read(features);
    }

    /// <summary>
    /// Crops of the next vision run, at most <paramref name="most"/> (what is left, within the run limit): as many as the
    /// graph takes, or with <see cref="MagmaModelOptions.VisionBatchSizes"/> the largest allowed size that fits (so only those shapes are ever run, and warmed up); the features are the same
    /// either way (each crop is encoded on its own), up to the convolution algorithms' rounding.
    /// </summary>
    private int VisionChunk(int most)
    {
        if (_visionSizes is null)
        {
            return most;
        }

        foreach (int size in _visionSizes)
        {
            if (size <= most)
            {
                return size;
            }
        }

        return 1;
    }

    /// <summary>
    /// The vision warm-up still running in the background (<see cref="MagmaModelOptions.WarmUpVisionInBackground"/>);
    /// completed when there is none. Vision runs wait for it.
    /// </summary>
    public Task VisionWarmUp { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Runs <paramref name="warmUp"/> (vision runs of shapes not yet set up) on a background thread; <see cref="EncodeCrops"/>
    /// waits for it. Start it only after the decoder's CUDA graph is captured: a capture must not overlap other work on the device.
    /// </summary>
    public void WarmVisionInBackground(Action<InferenceSession> warmUp)
    {
        if (!VisionWarmUp.IsCompleted)
        {
            throw new InvalidOperationException("A background vision warm-up is already running.");
        }

        VisionWarmUp = Task.Factory.StartNew(() => warmUp(Vision), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Vision graph runs since load (tests check that a batch's crops share runs).</summary>
    internal long VisionRuns { get; private set; }

    /// <summary>Vision runs through the bound buffers of <see cref="MagmaModelOptions.VisionCudaGraphs"/> (captured on CUDA).</summary>
    internal long BoundVisionRuns { get; private set; }

    /// <summary>Embeds <paramref name="ids"/> into <paramref name="destination"/> ([T,H] raw elements).</summary>
    public void EmbedTokens(ReadOnlySpan<int> ids, Span<byte> destination)
    {
        long[] ids64 = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids64[i] = ids[i];
        }

        using OrtValue input = OrtValue.CreateTensorValueFromMemory(ids64, [1, ids.Length]);
        using IDisposableReadOnlyCollection<OrtValue> results = Embed.Run(RunOptions, [Manifest.Embed.Input], [input], [Manifest.Embed.Output]);
        results[0].GetTensorMutableRawData().CopyTo(destination);
    }

    /// <summary>
    /// Runs the vision graph once on <paramref name="crops"/> blank crops (warm-up: cuDNN picks its algorithms per input
    /// shape on first use). Static so that it can run while the other sessions are still being created.
    /// </summary>
    public static void WarmVision(InferenceSession vision, MagmaManifest manifest, MagmaModelOptions options, int crops)
    {
        VisionManifest v = manifest.Vision;
        int fixedBatch = vision.InputMetadata[v.Input].Dimensions[0];
        crops = fixedBatch > 0 ? Math.Min(crops, fixedBatch) : crops;
        using var runOptions = new RunOptions();
        if (options.VisionCudaGraphs)
        {
            // Plain runs, not captured: the graphs are captured from the bound buffers of the requests' runs.
            runOptions.AddRunConfigEntry("gpu_graph_id", "-1");
        }

        if (options.EffectiveShrinkVisionArena)
        {
            runOptions.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", VisionShrinkEntry(options));
        }

        using OrtValue input = CreateFloatInput(GraphContract.FloatType(manifest), new float[crops * 3 * v.CropSize * v.CropSize], [crops, 3, v.CropSize, v.CropSize]);
        using IDisposableReadOnlyCollection<OrtValue> results = vision.Run(runOptions, [v.Input], [input], [v.FeaturesOutput, v.RowSeparatorOutput]);
    }

    private static string VisionShrinkEntry(MagmaModelOptions options) =>
        "gpu:" + options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private OrtValue CreateFloatInput(ReadOnlySpan<float> data, long[] shape) => CreateFloatInput(FloatType, data, shape);

    private static OrtValue CreateFloatInput(TensorElementType floatType, ReadOnlySpan<float> data, long[] shape)
    {
        if (floatType == TensorElementType.Float16)
        {
            // Vectorised conversion (ORT's Float16 has the layout of System.Half): a 4-crop screenshot is 3.1 M values,
            // which a per-element cast spends tens of milliseconds on.
            var half = GC.AllocateUninitializedArray<Float16>(data.Length);
            System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(data, System.Runtime.InteropServices.MemoryMarshal.Cast<Float16, Half>(half.AsSpan()));
            return OrtValue.CreateTensorValueFromMemory(half, shape);
        }

        return OrtValue.CreateTensorValueFromMemory(data.ToArray(), shape);
    }

    /// <summary>A decoder state for one request (<paramref name="replaysGraph"/>: the model's long-lived context, see <see cref="UsesCudaGraphs"/>).</summary>
    public DecodeContext BeginDecode(int capacity, bool replaysGraph = false) => new(this, capacity, replaysGraph);

    public void Dispose()
    {
        // The vision session must not go while the background warm-up runs it; its failure no longer matters here.
        try
        {
            VisionWarmUp.Wait();
        }
        catch (AggregateException)
        {
        }

        foreach (OrtValue? v in _maskViews)
        {
            v?.Dispose();
        }

        foreach (OrtValue? v in _positionViews)
        {
            v?.Dispose();
        }

        foreach (VisionGraph g in _visionGraphs?.Values ?? Enumerable.Empty<VisionGraph>())
        {
            g.Dispose();
        }

        _ones.Dispose();
        _positions.Dispose();
        if (!ReferenceEquals(StepRunOptions, RunOptions))
        {
            StepRunOptions.Dispose();
        }

        if (!ReferenceEquals(_visionRunOptions, RunOptions))
        {
            _visionRunOptions.Dispose();
        }

        RunOptions.Dispose();
        _deviceAllocator?.Dispose();
        _deviceInfo?.Dispose();
        Decoder.Dispose();
        Embed.Dispose();
        Vision.Dispose();
    }

    /// <summary>The device buffers, binding and run options of the vision graph captured for one crop count.</summary>
    private sealed class VisionGraph : IDisposable
    {
        private readonly List<OrtValue> _views = [];

        public VisionGraph(MagmaSessions s, int crops)
        {
            VisionManifest v = s.Manifest.Vision;
            TensorElementType f = s.FloatType;
            int elem = NativeBuffer.ElementSize(f);
            int pixels = crops * 3 * v.CropSize * v.CropSize;
            Staging = f == TensorElementType.Float16 ? new Half[pixels] : [];
            Input = s.AllocateDevice((long)pixels * elem);
            Features = s.AllocateDevice((long)crops * v.FeatureGrid * v.FeatureGrid * v.HiddenSize * elem);
            Binding = s.Vision.CreateIoBinding();
            Binding.BindInput(v.Input, View(Input.View(f, [crops, 3, v.CropSize, v.CropSize])));
            Binding.BindOutput(v.FeaturesOutput, View(Features.View(f, [crops, v.FeatureGrid, v.FeatureGrid, v.HiddenSize])));
            // Not the row separator (see _separator): the features are all that a captured run may write.
            RunOptions = new RunOptions();
            RunOptions.AddRunConfigEntry("gpu_graph_id", crops.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public Half[] Staging { get; }

        public NativeBuffer Input { get; }

        public NativeBuffer Features { get; }

        public OrtIoBinding Binding { get; }

        public RunOptions RunOptions { get; }

        private OrtValue View(OrtValue value)
        {
            _views.Add(value);
            return value;
        }

        public void Dispose()
        {
            Binding.Dispose();
            RunOptions.Dispose();
            foreach (OrtValue value in _views)
            {
                value.Dispose();
            }

            Input.Dispose();
            Features.Dispose();
        }
    }
}
