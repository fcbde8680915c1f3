using System.Diagnostics;
using System.Runtime.CompilerServices;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Package;
using Magma.Inference.Text;

namespace Magma.Inference;

/// <summary>
/// A loaded Magma model: the entry point of the engine. Load a package folder once, then send requests; requests
/// from several threads queue and run one at a time (each holds its own KV cache for its duration).
/// </summary>
public sealed class MagmaModel : IAsyncDisposable, IDisposable
{
    private readonly MagmaEngine _engine;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _disposed;

    private MagmaModel(MagmaEngine engine, int contextLength, long maxDecodedPixels, TimeSpan loadTime, Task backgroundWarmUp)
    {
        _engine = engine;
        ContextLength = contextLength;
        MaxDecodedPixelsPerRequest = maxDecodedPixels;
        LoadTime = loadTime;
        BackgroundWarmUp = backgroundWarmUp;
    }

    /// <summary>Wall time of <see cref="Load"/>: opening the package, creating the sessions and the CUDA warm-up.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>
    /// Where <see cref="LoadTime"/> went, stage by stage (sessions, warm-up shapes), for load-time reports. With
    /// <see cref="MagmaModelOptions.WarmUpVisionInBackground"/> the background stages ("... (background)") join the list
    /// as they end.
    /// </summary>
    public IReadOnlyList<MagmaLoadStage> LoadStages => _engine.Load.Stages;

    /// <summary>
    /// The vision warm-up left running when <see cref="Load"/> returned (<see cref="MagmaModelOptions.WarmUpVisionInBackground"/>);
    /// a completed task otherwise. Requests with images wait for it by themselves; await it to know when they no longer
    /// will. It faults if the warm-up failed (the first request with an image then throws the same error).
    /// </summary>
    public Task BackgroundWarmUp { get; }

    /// <summary>The validated package this model was loaded from.</summary>
    public MagmaPackage Package => _engine.Package;

    /// <summary>The package's tokenizer.</summary>
    public MagmaTokenizer Tokenizer => _engine.Tokenizer;

    /// <summary>Whether prompts wrap images in &lt;image_start&gt;/&lt;image_end&gt; (from the manifest).</summary>
    public bool UseImageStartEnd => _engine.Package.Manifest.UseImageStartEnd;

    /// <summary>
    /// Positions one request may fill, prompt (text ids and image embeddings) and answer together:
    /// <see cref="MagmaModelOptions.MaxSequenceLength"/> when set, capped by the decoder's <c>max_position_embeddings</c>.
    /// Video requests are budgeted against it (<c>Magma.Inference.Video.VideoBudget</c>).
    /// </summary>
    public int ContextLength { get; }

    /// <summary>The decoded-pixel budget of one request (<see cref="MagmaModelOptions.MaxDecodedPixelsPerRequest"/>).</summary>
    public long MaxDecodedPixelsPerRequest { get; }

    internal MagmaEngine Engine => _engine;

    /// <summary>The manifest's model id, on <see cref="MagmaTelemetry"/>'s spans.</summary>
    private string ModelId => _engine.Package.Manifest.ModelId;

    /// <summary>Opens, validates and loads a package folder.</summary>
    /// <param name="packageDirectory">The folder holding magma.json (docs/package-format.md).</param>
    /// <param name="options">Device and threading; CPU with ORT's default threads when null.</param>
    /// <exception cref="MagmaPackageException">A package file is missing or does not match the manifest.</exception>
    /// <exception cref="InvalidOperationException">CUDA was requested but cannot start.</exception>
    public static MagmaModel Load(string packageDirectory, MagmaModelOptions? options = null)
    {
        long start = Stopwatch.GetTimestamp();
        MagmaPackage package = MagmaPackage.Open(packageDirectory);
        options ??= new MagmaModelOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxDecodedPixelsPerRequest, "options.MaxDecodedPixelsPerRequest");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxVisionCropsPerRun, "options.MaxVisionCropsPerRun");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchPrefillPositions, "options.MaxBatchPrefillPositions");
        // The same rule as the engine's KV-cache bound.
        int maxPos = package.Manifest.Decoder.MaxPositionEmbeddings;
        int context = options.MaxSequenceLength > 0 ? Math.Min(options.MaxSequenceLength, maxPos) : maxPos;
        var engine = new MagmaEngine(package, options);
        Task background;
        try
        {
            if (options.Device == MagmaDevice.Cuda && options.WarmUp)
            {
                engine.WarmUp();
            }

            // After the decoder's warm-up: its CUDA graph capture must not overlap other device work.
            background = engine.StartBackgroundWarmUp();
        }
        catch
        {
            engine.Dispose();
            throw;
        }

        TimeSpan loadTime = Stopwatch.GetElapsedTime(start);
        return new MagmaModel(engine, context, options.MaxDecodedPixelsPerRequest, loadTime, background)
        {
            BatchLimits = (options.MaxVisionCropsPerRun, options.MaxBatchPrefillPositions),
        };
    }

    /// <summary>
    /// Builds a request from encoded images (untrusted bytes: uploads, files, a chat client's content). The budgets are
    /// checked from the image headers before any pixel is decoded: the placeholders must match the images, the prompt
    /// must fit <see cref="ContextLength"/>, and the images together must stay within
    /// <see cref="MaxDecodedPixelsPerRequest"/>. Only then are the images decoded, one after another.
    /// </summary>
    /// <param name="turns">The conversation, one <c>&lt;image&gt;</c> placeholder per image in order.</param>
    /// <param name="images">The images, headers read (<see cref="EncodedImage.Read"/> / <see cref="EncodedImage.Load"/>).</param>
    /// <param name="options">Generation options; greedy when null.</param>
    /// <param name="cancellationToken">Checked between decodes.</param>
    /// <exception cref="MagmaInputException">
    /// A budget is exceeded (the message names the images, their sizes and the budget), the placeholders do not match,
    /// or an image's pixel data is corrupt.
    /// </exception>
    public MagmaRequest CreateRequest(
        IReadOnlyList<ChatTurn> turns, IReadOnlyList<EncodedImage> images, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(turns);
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (turns.Count == 0)
        {
            throw new MagmaInputException("The request has no turns; add at least one user turn (MagmaPrompts.Conversation builds the usual system + user pair).");
        }

        _engine.CheckPrompt(_engine.Tokenize(turns), [.. images.Select(i => (i.Width, i.Height))], out _);
        CheckDecodedPixels(images, framePixels: 0);
        var decoded = new RgbImage[images.Count];
        for (int i = 0; i < decoded.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            decoded[i] = images[i].Decode();
        }

        return new MagmaRequest { Turns = turns, Images = decoded, Options = options ?? GenerationOptions.Greedy };
    }

    /// <summary>Refuses a request whose images (and video frames) would decode to more than the per-request pixel budget.</summary>
    internal void CheckDecodedPixels(IReadOnlyList<EncodedImage> images, long framePixels)
    {
        long total = framePixels;
        for (int i = 0; i < images.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(images[i], nameof(images));
            total += images[i].PixelCount;
        }

        if (total <= MaxDecodedPixelsPerRequest)
        {
            return;
        }

        var largest = images.Select((image, index) => (image, index)).OrderByDescending(x => x.image.PixelCount).Take(3)
            .Select(x => $"image {x.index} '{x.image.SourceName}' is {x.image.Width}x{x.image.Height}");
        string frames = framePixels > 0 ? $", video frames {framePixels}" : string.Empty;
        throw new MagmaInputException(
            $"The request would decode {total} pixels ({images.Count} image(s){frames}), more than the per-request budget of {MaxDecodedPixelsPerRequest} " +
            $"(MagmaModelOptions.MaxDecodedPixelsPerRequest). Nothing was decoded. {(images.Count > 0 ? "Largest: " + string.Join("; ", largest) + ". " : string.Empty)}" +
            "Send fewer or smaller images (or fewer video frames), or raise the budget.");
    }

    /// <summary>Runs a request to the end.</summary>
    /// <exception cref="MagmaInputException">The request cannot be run (placeholder/image mismatch, prompt over the context, bad options).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; generation stops within one decode step.</exception>
    public async Task<MagmaResponse> GenerateAsync(MagmaRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using MagmaTelemetry.RequestTelemetry telemetry = MagmaTelemetry.StartRequest(ModelId, streaming: false);
        try
        {
            int[] ids = Tokenize(request);
            MagmaResponse response = await RunAsync(ids, request.Images, request.Options, cancellationToken).ConfigureAwait(false);
            telemetry.Complete(response.Usage, response.FinishReason);
            return response;
        }
        catch (Exception e)
        {
            telemetry.Fail(e);
            throw;
        }
    }

    /// <summary>Streams a request's text as it is generated; the last update carries the finish reason and usage.</summary>
    /// <exception cref="MagmaInputException">The request cannot be run.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; generation stops within one decode step.</exception>
    public async IAsyncEnumerable<MagmaStreamUpdate> StreamAsync(
        MagmaRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using MagmaTelemetry.RequestTelemetry telemetry = MagmaTelemetry.StartRequest(ModelId, streaming: true);
        IAsyncEnumerator<MagmaStreamUpdate> updates = StreamCoreAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                MagmaStreamUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }

                    update = updates.Current;
                }
                catch (Exception e)
                {
                    // A yield cannot sit in a try with a catch, so each step of the inner stream is watched on its own.
                    telemetry.Fail(e);
                    throw;
                }

                if (update.Usage is not null)
                {
                    telemetry.Complete(update.Usage, update.FinishReason!.Value);
                }

                yield return update;
            }
        }
        finally
        {
            await updates.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async IAsyncEnumerable<MagmaStreamUpdate> StreamCoreAsync(MagmaRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int[] ids = Tokenize(request);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using RequestRun run = await Task.Run(() => _engine.Start(ids, request.Images, request.Options), cancellationToken).ConfigureAwait(false);
            while (true)
            {
                (bool more, int token, string delta) = await Task.Run(
                    () => (run.MoveNext(cancellationToken, out int t, out string d), t, d), cancellationToken).ConfigureAwait(false);
                if (!more)
                {
                    yield break;
                }

                bool last = run.Loop.Finish is not null;
                yield return new MagmaStreamUpdate(delta, token, run.Loop.Finish, last ? run.Usage : null);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs several independent requests together, so N robots (or N screenshots) share the cost of reading the
    /// weights: the crops of all their images go through shared vision runs (at most
    /// <see cref="MagmaModelOptions.MaxVisionCropsPerRun"/> crops each), their prompts are prefilled several per
    /// decoder run (right-padded, grouped by length, within <see cref="MagmaModelOptions.MaxBatchPrefillPositions"/>),
    /// and every decode step advances all of them in one decoder run. Each request keeps its own options; the tokens
    /// are those of running it alone, up to the rounding of batched matrix products. Needs a GroupQueryAttention
    /// package (what tools/export writes); other packages run the requests one after another. For requests that
    /// arrive at different times, use a <see cref="MagmaBatchScheduler"/>.
    /// </summary>
    /// <param name="requests">The requests, answered in the same order.</param>
    /// <param name="cancellationToken">Stops the batch within one decode step.</param>
    /// <exception cref="MagmaInputException">A request cannot be run (as for <see cref="GenerateAsync"/>); the message names it.</exception>
    public async Task<IReadOnlyList<MagmaResponse>> GenerateBatchAsync(IReadOnlyList<MagmaRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0)
        {
            return [];
        }

        using Activity? batch = MagmaTelemetry.StartBatch(ModelId, requests.Count);
        try
        {
            return await GenerateBatchCoreAsync(requests, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            batch?.SetStatus(ActivityStatusCode.Error, e.Message);
            batch?.SetTag("error.type", e.GetType().FullName);
            throw;
        }
    }

    private async Task<IReadOnlyList<MagmaResponse>> GenerateBatchCoreAsync(IReadOnlyList<MagmaRequest> requests, CancellationToken cancellationToken)
    {
        if (!SupportsBatching)
        {
            var sequential = new List<MagmaResponse>(requests.Count);
            foreach (MagmaRequest r in requests)
            {
                sequential.Add(await GenerateAsync(r, cancellationToken).ConfigureAwait(false));
            }

            return sequential;
        }

        var entries = new BatchEntry[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            MagmaRequest r = requests[i] ?? throw new ArgumentException($"requests[{i}] is null.", nameof(requests));
            entries[i] = new BatchEntry(Tokenize(r), r.Images, r.Options ?? GenerationOptions.Greedy);
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long start = Stopwatch.GetTimestamp();
            await Task.Run(() => RunBatch(entries, cancellationToken), cancellationToken).ConfigureAwait(false);
            var responses = new MagmaResponse[entries.Length];
            for (int i = 0; i < entries.Length; i++)
            {
                responses[i] = Respond(entries[i]);
                // Each request of the batch counts as a request (its answer arrives with the batch's last token); the spans are the batch's.
                new MagmaTelemetry.RequestTelemetry(null, start).Complete(responses[i].Usage, responses[i].FinishReason);
            }

            return responses;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Whether the package can decode several requests in one run (a GroupQueryAttention decoder with last-position logits).</summary>
    internal bool SupportsBatching => _engine.Sessions.SharedKv && _engine.Sessions.LogitsPruned;

    /// <summary>The batch limits of the load options.</summary>
    internal (int CropsPerRun, int PrefillPositions) BatchLimits { get; private init; }

    /// <summary>The request-serialising gate (the batch scheduler holds it for each of its steps).</summary>
    internal SemaphoreSlim Gate => _gate;

    internal bool IsDisposed => _disposed;

    /// <summary>Runs before the sessions are released, under the gate (a scheduler frees its batch cache).</summary>
    internal event Action? Disposing;

    /// <summary>All requests in one batch, every one checked before any costs a vision run; throws for the first bad one.</summary>
    private void RunBatch(BatchEntry[] entries, CancellationToken cancellationToken)
    {
        int capacity = 1;
        using var checker = new BatchRunner(_engine, entries.Length, _engine.MaxSequence, BatchLimits.CropsPerRun, BatchLimits.PrefillPositions);
        for (int i = 0; i < entries.Length; i++)
        {
            try
            {
                checker.Check(entries[i]);
            }
            catch (MagmaInputException e)
            {
                throw new MagmaInputException($"Request {i} of the batch: {e.Message}", e);
            }

            capacity = Math.Max(capacity, entries[i].Capacity);
        }

        using var runner = new BatchRunner(_engine, entries.Length, capacity, BatchLimits.CropsPerRun, BatchLimits.PrefillPositions);
        runner.Admit(entries);
        while (runner.Running > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            runner.Step();
        }

        for (int i = 0; i < entries.Length; i++)
        {
            if (entries[i].Error is Exception error)
            {
                throw error is MagmaInputException ? new MagmaInputException($"Request {i} of the batch: {error.Message}", error) : error;
            }
        }
    }

    /// <summary>The response of a finished batch request: its ids decoded (a final stop token left out), as a request run alone.</summary>
    internal MagmaResponse Respond(BatchEntry e)
    {
        int[] ids = [.. e.Generated];
        ReadOnlySpan<int> text = e.Finish == FinishReason.StopToken ? ids.AsSpan(0, ids.Length - 1) : ids;
        // With stop strings the text is the streamed one, cut before the stop string (as GenerateAsync's).
        string answer = e.Stops is not null ? e.Stops.Text.ToString().Trim() : _engine.Tokenizer.Decode(text, skipSpecialTokens: true).Trim();
        return new MagmaResponse(answer, ids, new MagmaUsage(e.PromptTokens, e.ImageTokens, ids.Length), e.Finish!.Value);
    }

    /// <summary>Runs pre-tokenized prompt ids (parity tests, callers with their own template).</summary>
    internal async Task<MagmaResponse> RunAsync(int[] ids, IReadOnlyList<RgbImage> images, GenerationOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return await Task.Run(
                () =>
                {
                    using RequestRun run = _engine.Start(ids, images, options);
                    while (run.MoveNext(cancellationToken, out _, out _))
                    {
                    }

                    return new MagmaResponse(run.Loop.Text.ToString().Trim(), [.. run.Loop.Generated], run.Usage, run.Loop.Finish!.Value);
                },
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private int[] Tokenize(MagmaRequest request)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (request.Turns is null || request.Turns.Count == 0)
        {
            throw new MagmaInputException("MagmaRequest.Turns is empty; add at least one user turn (MagmaPrompts.Conversation builds the usual system + user pair).");
        }

        return _engine.Tokenize(request.Turns);
    }

    /// <summary>Waits for the request in flight, then releases the sessions.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _gate.Wait();
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                Disposing?.Invoke();
                _engine.Dispose();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Waits asynchronously for the request in flight, then releases the sessions.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                Disposing?.Invoke();
                _engine.Dispose();
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
