using System.Diagnostics;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;
using Magma.Inference.Package;
using Magma.Inference.Text;

namespace Magma.Inference.Generation;

/// <summary>
/// The pipeline behind <see cref="MagmaModel"/>: chat -> ids, images -> crops -> vision -> stitched blocks,
/// merge, prefill, then a <see cref="GenerationLoop"/> over a per-request <see cref="DecodeContext"/>.
/// Not thread-safe; the façade serialises requests.
/// </summary>
internal sealed class MagmaEngine : IDisposable
{
    /// <summary>Spec §5.4: stopping on &lt;|end_of_text|&gt; too is a harmless safety net.</summary>
    internal const int EndOfTextId = 128001;

    private readonly int _maxSequence;
    private readonly MagmaModelOptions _options;

    /// <summary>Vision shapes left to the background warm-up (<see cref="MagmaModelOptions.WarmUpVisionInBackground"/>).</summary>
    private readonly int[] _backgroundCrops = [];
    private readonly PrefillBucketing _bucketing;
    private readonly bool _warmBuckets;
    private readonly int _warmBucketsUpTo;

    /// <summary><see cref="PrefillBucketing.NewLengths"/>: per prompt length, 1 once it ran padded, 2 once it ran exactly.</summary>
    private readonly byte[]? _lengthRuns;
    private DecodeContext? _persistent;
    private bool _contextInUse;

    /// <summary>Vision time of the last <see cref="BuildEmbeddings"/> call (requests are serialised by the façade).</summary>
    private TimeSpan _lastVisionTime;

    public MagmaEngine(MagmaPackage package, MagmaModelOptions options)
    {
        Package = package;
        MagmaManifest m = package.Manifest;
        if (m.Vision.Strategy != "crop")
        {
            throw new MagmaPackageException($"magma.json: field 'vision.strategy' is \"{m.Vision.Strategy}\"; this engine runs the \"crop\" strategy only.");
        }

        PreprocessorConfig pre = PreprocessorConfig.Load(package.PreprocessorConfigPath);
        if (pre.BaseImageSize != m.Vision.CropSize)
        {
            throw new MagmaPackageException(
                $"preprocessor_config.json: the base image size is {pre.BaseImageSize} but magma.json field 'vision.crop_size' is {m.Vision.CropSize}; they must agree.");
        }

        Preprocessor = new ImagePreprocessor(pre);
        Tokenizer = MagmaTokenizer.Load(package.Directory);
        Template = ChatTemplate.FromTokenizerConfig(Path.Combine(package.Directory, "tokenizer_config.json"));
        if (Tokenizer.ImageTokenId != m.Tokens.Image)
        {
            throw new MagmaPackageException(
                $"magma.json: field 'tokens.image' is {m.Tokens.Image} but the tokenizer's <image> id is {Tokenizer.ImageTokenId}.");
        }

        if (Tokenizer.VocabularySize > m.Decoder.VocabSize)
        {
            throw new MagmaPackageException(
                $"tokenizer.json: the tokenizer has {Tokenizer.VocabularySize} ids, more than magma.json field 'decoder.vocab_size' = {m.Decoder.VocabSize}.");
        }

        int maxPos = m.Decoder.MaxPositionEmbeddings;
        _maxSequence = options.MaxSequenceLength > 0 ? Math.Min(options.MaxSequenceLength, maxPos) : maxPos;
        Load = new LoadLog(options.Device == MagmaDevice.Cuda);
        Action<Microsoft.ML.OnnxRuntime.InferenceSession>? warmVision = null;
        int[]? visionSizes = options.ResolveVisionBatchSizes(Preprocessor.Config.NumCrops);
        if (options.Device == MagmaDevice.Cuda && options.WarmUp)
        {
            // Each input shape costs seconds of cuDNN set-up on its first run and again after a run of another shape
            // (docs/perf.md): the warm-up runs the shape requests run most (the largest vision batch size).
            IReadOnlyList<int> crops = options.ResolveWarmUpCrops(Preprocessor.Config.NumCrops);
            if (options.WarmUpVisionInBackground)
            {
                // Every shape after the load: an image run beside the warm-up would wait for it node by node anyway
                // (see the option), so warming one shape before Load returns would only delay the text-only requests.
                _backgroundCrops = [.. crops];
            }
            else
            {
                warmVision = vision => WarmVision(vision, crops, string.Empty);
            }
        }

        _options = options;
        Sessions = new MagmaSessions(package, options, Load, visionSizes, warmVision);
        // Padded prefills need the shared-buffer decoder with last-position logits (the batched prefill's scheme).
        _bucketing = Sessions.SharedKv && Sessions.LogitsPruned ? options.EffectivePrefillBuckets : PrefillBucketing.Off;
        _warmBuckets = options.WarmPrefillBuckets;
        _warmBucketsUpTo = options.WarmPrefillUpTo;
        _lengthRuns = _bucketing == PrefillBucketing.NewLengths ? new byte[_maxSequence + 1] : null;
    }

    /// <summary>
    /// Starts the warm-up of the vision shapes left for the background (none unless
    /// <see cref="MagmaModelOptions.WarmUpVisionInBackground"/>); call after <see cref="WarmUp"/>, whose CUDA graph capture
    /// must not overlap it. Its stages end with "(background)".
    /// </summary>
    public Task StartBackgroundWarmUp()
    {
        if (_backgroundCrops.Length > 0)
        {
            Sessions.WarmVisionInBackground(vision => WarmVision(vision, _backgroundCrops, " (background)"));
        }

        return Sessions.VisionWarmUp;
    }

    private void WarmVision(Microsoft.ML.OnnxRuntime.InferenceSession vision, IReadOnlyList<int> crops, string suffix)
    {
        foreach (int n in crops)
        {
            long start = Stopwatch.GetTimestamp();
            MagmaSessions.WarmVision(vision, Package.Manifest, _options, n);
            Load.End($"warm-up vision {n} crop{(n > 1 ? "s" : string.Empty)}{suffix}", start);
        }
    }

    /// <summary>How prompts are prefilled (the options' choice, or <see cref="PrefillBucketing.Off"/> where the graph cannot pad).</summary>
    internal PrefillBucketing Bucketing => _bucketing;

    /// <summary>The stages of the load so far (sessions, warm-up), with their times.</summary>
    internal LoadLog Load { get; }

    public MagmaPackage Package { get; }

    /// <summary>Positions one request may fill (the options' limit capped by the model's).</summary>
    internal int MaxSequence => _maxSequence;

    public MagmaSessions Sessions { get; }

    public MagmaTokenizer Tokenizer { get; }

    public ChatTemplate Template { get; }

    public ImagePreprocessor Preprocessor { get; }

    /// <summary>KV caches allocated since load (one per request).</summary>
    public int KvCachesCreated { get; private set; }

    /// <summary>Bytes and buffer count of the most recent request's KV cache.</summary>
    public (long Bytes, int Buffers, int Capacity) LastKvCache { get; private set; }

    /// <summary>Prompt ids: template and image placeholders as special ids, every text as plain text; double BOS (spec §5.2).</summary>
    public int[] Tokenize(IReadOnlyList<ChatTurn> turns) => Template.Encode(turns, Tokenizer, addGenerationPrompt: true);

    /// <summary>Stitched visual embeddings of one image ([N_img, H] raw elements).</summary>
    public byte[] EncodeImage(RgbImage image, out CropGrid grid)
    {
        ImagesEncoded++;
        grid = Preprocessor.SelectGrid(image.Width, image.Height);
        float[] pixels = new float[Preprocessor.GetPixelCount(grid)];
        grid = Preprocessor.Preprocess(image, pixels);
        (byte[] features, byte[] separator) = Sessions.EncodeCrops(pixels, grid.CropCount);
        int g = Package.Manifest.Vision.FeatureGrid;
        byte[] block = GC.AllocateUninitializedArray<byte>(EmbeddingMerger.ImageTokenCount(grid, g) * separator.Length);
        EmbeddingMerger.Stitch(features, separator, grid, g, block);
        return block;
    }

    /// <summary>
    /// Stitched visual embeddings of several images (of one request or of many) with their crops sharing vision runs:
    /// consecutive images' crops are concatenated into runs of at most <paramref name="maxCropsPerRun"/> crops (an
    /// image with more crops runs alone, split), then each image's features are stitched on their own. The blocks are
    /// those of <see cref="EncodeImage"/> up to the rounding of a larger convolution batch.
    /// </summary>
    public byte[][] EncodeImages(IReadOnlyList<RgbImage> images, int maxCropsPerRun)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCropsPerRun);
        var blocks = new byte[images.Count][];
        var grids = new CropGrid[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            grids[i] = Preprocessor.SelectGrid(images[i].Width, images[i].Height);
        }

        VisionManifest v = Package.Manifest.Vision;
        int cropPixels = 3 * v.CropSize * v.CropSize;
        int g = v.FeatureGrid;
        int first = 0;
        while (first < images.Count)
        {
            // The run takes images while their crops fit; the first one always goes (EncodeCrops splits it if needed).
            int end = first + 1;
            int crops = grids[first].CropCount;
            while (end < images.Count && crops + grids[end].CropCount <= maxCropsPerRun)
            {
                crops += grids[end++].CropCount;
            }

            float[] pixels = GC.AllocateUninitializedArray<float>(checked(crops * cropPixels));
            var offsets = new int[end - first + 1];
            for (int i = first; i < end; i++)
            {
                offsets[i - first + 1] = offsets[i - first] + Preprocessor.GetPixelCount(grids[i]);
            }

            // The host's share of a batch (resize + normalise, a few ms per image) runs on all cores while the
            // device waits for it; each image writes its own part of the run's pixels.
            int runFirst = first;
            Parallel.For(first, end, i =>
                grids[i] = Preprocessor.Preprocess(images[i], pixels.AsSpan(offsets[i - runFirst], offsets[i - runFirst + 1] - offsets[i - runFirst])));

            (byte[] features, byte[] separator) = Sessions.EncodeCrops(pixels, crops, maxCropsPerRun);
            int cropBytes = features.Length / crops;
            int at = 0;
            for (int i = first; i < end; i++)
            {
                ImagesEncoded++;
                int bytes = grids[i].CropCount * cropBytes;
                blocks[i] = GC.AllocateUninitializedArray<byte>(EmbeddingMerger.ImageTokenCount(grids[i], g) * separator.Length);
                EmbeddingMerger.Stitch(features.AsSpan(at, bytes), separator, grids[i], g, blocks[i]);
                at += bytes;
            }

            first = end;
        }

        return blocks;
    }

    /// <summary>
    /// Merged prompt embeddings ([T,H] in host memory) for <paramref name="ids"/> and the images, followed by zero rows
    /// up to <paramref name="rows"/> rows when that is more (the padding of a padded prefill).
    /// </summary>
    public NativeBuffer BuildEmbeddings(ReadOnlySpan<int> ids, IReadOnlyList<RgbImage> images, out int length, out int imageTokens, int rows = 0)
    {
        // Sizes alone decide the prompt's length: an over-context request is refused before any pixel is processed.
        CheckPrompt(ids, images, out _);
        long visionStart = Stopwatch.GetTimestamp();
        var blocks = new byte[images.Count][];
        for (int i = 0; i < images.Count; i++)
        {
            blocks[i] = EncodeImage(images[i], out _);
        }

        _lastVisionTime = images.Count > 0 ? Stopwatch.GetElapsedTime(visionStart) : TimeSpan.Zero;
        if (images.Count > 0)
        {
            MagmaTelemetry.RecordStage(MagmaTelemetry.Vision, _lastVisionTime);
        }

        return MergeEmbeddings(ids, blocks, out length, out imageTokens, rows);
    }

    /// <summary>
    /// Merged prompt embeddings ([T,H] in host memory) for <paramref name="ids"/> and already encoded image blocks,
    /// zero rows after them up to <paramref name="rows"/> rows.
    /// </summary>
    public NativeBuffer MergeEmbeddings(ReadOnlySpan<int> ids, IReadOnlyList<byte[]> blocks, out int length, out int imageTokens, int rows = 0)
    {
        MagmaManifest m = Package.Manifest;
        int vec = m.Decoder.HiddenSize * m.ElementSize;
        var counts = new int[blocks.Count];
        imageTokens = 0;
        for (int i = 0; i < blocks.Count; i++)
        {
            counts[i] = blocks[i].Length / vec;
            imageTokens += counts[i];
        }

        length = EmbeddingMerger.MergedLength(ids, m.Tokens.Image, counts);
        byte[] text = new byte[ids.Length * vec];
        Sessions.EmbedTokens(ids, text);
        NativeBuffer merged = NativeBuffer.Host((long)Math.Max(length, rows) * vec);
        EmbeddingMerger.Merge(ids, m.Tokens.Image, text, blocks, vec, merged.HostSpan<byte>(0, checked(length * vec)));
        if (rows > length)
        {
            merged.Clear((long)length * vec, (long)(rows - length) * vec); // padding must be finite: zeros normalise to zeros
        }

        return merged;
    }

    /// <summary>
    /// Runs the decoder once per kind of run requests make: a short greedy request and a short sampled one, which tune
    /// the decode step's GEMMs, capture its CUDA graph and touch both ways tokens are chosen (the vision shapes were
    /// warmed when their session was made). Each run's prefill and steps are logged as load stages.
    /// </summary>
    public void WarmUp()
    {
        int[] ids = Tokenize([new ChatTurn(ChatRole.User, "Warm-up.")]);
        foreach ((string name, GenerationOptions options) in new[]
        {
            ("greedy", new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] }),
            ("sampled", new GenerationOptions { MaxNewTokens = 3, StopTokenIds = [], DoSample = true, Seed = 0 }),
        })
        {
            long start = Stopwatch.GetTimestamp();
            using RequestRun run = Start(ids, [], options);
            for (int step = 0; run.MoveNext(CancellationToken.None, out _, out _); step++)
            {
                Load.End(step == 0 ? $"warm-up {name} prefill" : $"warm-up {name} step {step}", start);
                start = Stopwatch.GetTimestamp();
            }
        }

        if (_bucketing != PrefillBucketing.Off && _warmBuckets)
        {
            WarmPrefillWidths();
        }
    }

    /// <summary>
    /// Runs a prefill at every padded width (<see cref="PrefillBuckets"/>) up to the options' limit, so no request of
    /// those widths pays a width's first run.
    /// </summary>
    private void WarmPrefillWidths()
    {
        long start = Stopwatch.GetTimestamp();
        int[] widths = [.. PrefillBuckets.Sizes(_maxSequence).Where(w => w <= _warmBucketsUpTo)];
        if (widths.Length == 0)
        {
            return;
        }

        int vec = Package.Manifest.Decoder.HiddenSize * Package.Manifest.ElementSize;
        using NativeBuffer zeros = NativeBuffer.Host((long)widths[^1] * vec);
        zeros.Clear(0, zeros.Bytes);
        DecodeContext context = RentContext(widths[^1], 0, 0, out bool owned);
        try
        {
            foreach (int width in widths)
            {
                context.WarmPrefill(zeros, width);
            }
        }
        finally
        {
            ReturnContext(context, owned);
        }

        Load.End($"warm-up prefill widths ({widths.Length}, up to {widths[^1]})", start);
    }

    /// <summary>
    /// The width to pad this prompt's prefill to, or 0 for an exact prefill (see <see cref="PrefillBucketing"/>).
    /// Under <see cref="PrefillBucketing.NewLengths"/> this also records the length as seen.
    /// </summary>
    internal int PrefillWidth(int length)
    {
        if (_bucketing == PrefillBucketing.Off || length < 2)
        {
            return 0;
        }

        if (_lengthRuns is not null)
        {
            ref byte runs = ref _lengthRuns[length];
            if (runs > 0)
            {
                runs = 2;
                return 0;
            }

            runs = 1;
        }

        return PrefillBuckets.Width(length - 1, _maxSequence);
    }

    /// <summary>Image embeddings an image of this size becomes (its crop grid decides; no pixel is needed).</summary>
    internal int ImageTokens(int width, int height) =>
        EmbeddingMerger.ImageTokenCount(Preprocessor.SelectGrid(width, height), Package.Manifest.Vision.FeatureGrid);

    /// <summary>Images encoded by the vision graph since load (tests check that a refused request encoded none).</summary>
    internal long ImagesEncoded { get; private set; }

    /// <summary>
    /// Checks a prompt against the placeholders and the context from the images' sizes alone and returns its merged
    /// length: what <see cref="BuildEmbeddings"/> will fill, known before any pixel is decoded or processed.
    /// </summary>
    /// <exception cref="MagmaInputException">A placeholder/image mismatch, a null image, or a prompt over the context.</exception>
    internal int CheckPrompt(ReadOnlySpan<int> ids, IReadOnlyList<RgbImage> images, out int imageTokens)
    {
        var sizes = new (int Width, int Height)[images.Count];
        for (int i = 0; i < sizes.Length; i++)
        {
            RgbImage image = images[i] ?? throw new MagmaInputException($"MagmaRequest.Images[{i}] is null.");
            sizes[i] = (image.Width, image.Height);
        }

        return CheckPrompt(ids, sizes, out imageTokens);
    }

    /// <inheritdoc cref="CheckPrompt(ReadOnlySpan{int}, IReadOnlyList{RgbImage}, out int)"/>
    internal int CheckPrompt(ReadOnlySpan<int> ids, IReadOnlyList<(int Width, int Height)> sizes, out int imageTokens)
    {
        var counts = new int[sizes.Count];
        imageTokens = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = ImageTokens(sizes[i].Width, sizes[i].Height);
            imageTokens += counts[i];
        }

        // Throws on a placeholder/image count mismatch.
        int length = EmbeddingMerger.MergedLength(ids, Package.Manifest.Tokens.Image, counts);
        if (length > _maxSequence)
        {
            throw new MagmaInputException(ContextMessage(length, imageTokens) + " " + DescribeImages(sizes, counts));
        }

        return length;
    }

    private string ContextMessage(int promptLength, int imageTokens) =>
        $"The prompt fills {promptLength} positions ({imageTokens} of them image embeddings), {promptLength - _maxSequence} more than the context limit of {_maxSequence}. Use fewer or smaller images or a shorter chat.";

    /// <summary>"Image 0 (8000x8000) takes 1056 positions; ..." for the first few images, so the caller sees which ones cost what.</summary>
    private static string DescribeImages(IReadOnlyList<(int Width, int Height)> sizes, int[] counts)
    {
        if (sizes.Count == 0)
        {
            return "The request has no image.";
        }

        const int Shown = 4;
        var parts = new List<string>(Math.Min(sizes.Count, Shown) + 1);
        for (int i = 0; i < Math.Min(sizes.Count, Shown); i++)
        {
            parts.Add($"image {i} ({sizes[i].Width}x{sizes[i].Height}) takes {counts[i]} positions");
        }

        if (sizes.Count > Shown)
        {
            parts.Add($"{sizes.Count - Shown} more images take {counts.AsSpan(Shown).ToArray().Sum()}");
        }

        return "From the image headers: " + string.Join("; ", parts) + ". The request was refused before any image was processed.";
    }

    /// <summary>Validates options, builds the prompt, allocates the request's cache and runs the prefill.</summary>
    public RequestRun Start(ReadOnlySpan<int> ids, IReadOnlyList<RgbImage> images, GenerationOptions options)
    {
        options.Validate();
        long start = Stopwatch.GetTimestamp();
        int width = PrefillWidth(CheckPrompt(ids, images, out _));
        using NativeBuffer embeds = BuildEmbeddings(ids, images, out int length, out int imageTokens, width);
        DecodeContext context = RentContext(length, options.MaxNewTokens, width, out bool owned);
        try
        {
            ulong seed = options.Seed ?? (ulong)Random.Shared.NextInt64();
            // The loop is made first: a greedy request lets the prefill's own run choose the first token on the device.
            var loop = new GenerationLoop(context, new StreamingText(Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true)), options, StopIdsFor(options), seed);
            context.Prefill(embeds, length, width);
            // Prefill = everything in Start but the vision encoder: text embedding, merge, cache allocation, prompt run.
            MagmaTelemetry.RecordStage(MagmaTelemetry.Prefill, Stopwatch.GetElapsedTime(start) - _lastVisionTime);
            return new RequestRun(context, owned, loop, length, imageTokens, () => _contextInUse = false);
        }
        catch
        {
            ReturnContext(context, owned);
            throw;
        }
    }

    /// <summary>
    /// The decoder state for one request. CPU: a fresh cache sized to the request (prompt + max new tokens). CUDA with
    /// graphs: the model's one context, whose buffers the captured step graph points at, sized to the context limit.
    /// A padded prefill's <paramref name="width"/> must fit too.
    /// </summary>
    private DecodeContext RentContext(int promptLength, int maxNewTokens, int width, out bool owned)
    {
        if (Sessions.UsesCudaGraphs && !_contextInUse)
        {
            if (_persistent is null)
            {
                _persistent = Sessions.BeginDecode(_maxSequence, replaysGraph: true);
                KvCachesCreated++;
            }

            _persistent.Reset();
            _contextInUse = true;
            owned = false;
            LastKvCache = (_persistent.Cache.BytesAllocated, _persistent.Cache.BufferCount, _persistent.Cache.Capacity);
            return _persistent;
        }

        int capacity = (int)Math.Min(_maxSequence, Math.Max(width, (long)promptLength + maxNewTokens));
        DecodeContext context = Sessions.BeginDecode(capacity);
        KvCachesCreated++;
        LastKvCache = (context.Cache.BytesAllocated, context.Cache.BufferCount, context.Cache.Capacity);
        owned = true;
        return context;
    }

    private void ReturnContext(DecodeContext context, bool owned)
    {
        if (owned)
        {
            context.Dispose();
        }
        else
        {
            _contextInUse = false;
        }
    }

    /// <summary>The ids that end a request: its own, or the package's EOS ids plus &lt;|end_of_text|&gt;.</summary>
    internal IReadOnlyList<int> StopIdsFor(GenerationOptions options)
    {
        if (options.StopTokenIds is not null)
        {
            return options.StopTokenIds;
        }

        var ids = new List<int>(Package.Manifest.Tokens.Eos);
        if (!ids.Contains(EndOfTextId) && EndOfTextId < Package.Manifest.Decoder.VocabSize)
        {
            ids.Add(EndOfTextId);
        }

        return ids;
    }

    public void Dispose()
    {
        _persistent?.Dispose();
        Sessions.Dispose();
    }

    private sealed class StreamingText(StreamingDecoder decoder) : ITextStream
    {
        public string Append(int tokenId) => decoder.Append(tokenId);

        public string Flush() => decoder.Flush();
    }
}

/// <summary>One request in flight: its decoder state and loop.</summary>
internal sealed class RequestRun(DecodeContext context, bool ownsContext, GenerationLoop loop, int promptTokens, int imageTokens, Action release) : IDisposable
{
    private long _decodeTicks;

    public GenerationLoop Loop => loop;

    public DecodeContext Context => context;

    public MagmaUsage Usage => new(promptTokens, imageTokens, loop.Generated.Count);

    /// <summary><see cref="GenerationLoop.MoveNext"/>, timed: only time spent decoding counts, not the caller's time between tokens.</summary>
    public bool MoveNext(CancellationToken cancellationToken, out int tokenId, out string delta)
    {
        long t0 = Stopwatch.GetTimestamp();
        try
        {
            return loop.MoveNext(cancellationToken, out tokenId, out delta);
        }
        finally
        {
            _decodeTicks += Stopwatch.GetTimestamp() - t0;
        }
    }

    public void Dispose()
    {
        if (_decodeTicks > 0)
        {
            MagmaTelemetry.RecordStage(MagmaTelemetry.Decode, TimeSpan.FromSeconds(_decodeTicks / (double)Stopwatch.Frequency));
            _decodeTicks = 0;
        }

        if (ownsContext)
        {
            context.Dispose();
        }
        else
        {
            release();
        }
    }
}
