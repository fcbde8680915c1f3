using System.Collections.Concurrent;
using Magma.Inference.Generation;

namespace Magma.Inference;

/// <summary>How a <see cref="MagmaBatchScheduler"/> batches.</summary>
public sealed class MagmaSchedulerOptions
{
    /// <summary>
    /// Requests decoded together at most (the slots of the batch cache). Requests beyond it wait for a slot. Default 16.
    /// </summary>
    public int MaxBatchSize { get; init; } = 16;

    /// <summary>
    /// Positions one slot holds, prompt and answer together; 0 means <see cref="MagmaModel.ContextLength"/>. The batch
    /// cache is MaxBatchSize × this many positions (Magma-8B: 128 KiB per position in float16), allocated while any
    /// request runs and freed when the scheduler is idle. A request whose prompt does not fit is refused; one whose
    /// answer reaches the end finishes with <see cref="FinishReason.ContextLimit"/>.
    /// </summary>
    public int PositionsPerRequest { get; init; }
}

/// <summary>
/// Continuous batching over one <see cref="MagmaModel"/>: many callers (robots, agents) call
/// <see cref="GenerateAsync"/> concurrently, each awaiting its own answer, and the scheduler decodes their requests
/// together. Requests that arrive while others decode join the running batch at the next step boundary (their images'
/// crops share vision runs and their prompts share prefill runs, as in <see cref="MagmaModel.GenerateBatchAsync"/>;
/// one boundary admits about one vision run and one prefill run of work, <see cref="MagmaModelOptions.MaxVisionCropsPerRun"/>
/// and <see cref="MagmaModelOptions.MaxBatchPrefillPositions"/>, so running requests are not held up by a burst of
/// arrivals for longer than that); a finished request leaves at once and frees its slot. Each request's tokens are those of running it alone (up to
/// the rounding of batched matrix products).
/// <para>
/// Per request: cancelling its token ends its <see cref="GenerateAsync"/> with <see cref="OperationCanceledException"/>
/// and the request leaves the batch at the next step, the others undisturbed; bad input (a placeholder/image mismatch,
/// a prompt over the slot, bad options, an image the vision graph fails on) fails that request alone
/// with a <see cref="MagmaInputException"/> naming the problem. A failed decode step fails the requests then running.
/// </para>
/// <para>
/// The scheduler runs its steps on its own thread and holds the model's request gate for one step at a time, so direct
/// calls to the model interleave with the batch. Needs a GroupQueryAttention package (what tools/export writes);
/// with other packages requests run one at a time. Dispose the scheduler before the model; requests still waiting
/// then fail with <see cref="ObjectDisposedException"/>.
/// </para>
/// </summary>
public sealed class MagmaBatchScheduler : IDisposable, IAsyncDisposable
{
    private readonly MagmaModel _model;
    private readonly BatchRunner? _runner;
    private readonly ConcurrentQueue<Pending> _arrivals = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<BatchEntry, Pending> _running = [];
    private readonly Task? _loop;
    private readonly Action _onModelDisposing;
    private int _disposed;
    private int _cancellations;

    /// <summary>Starts a scheduler over <paramref name="model"/>.</summary>
    /// <param name="model">A loaded model; it must outlive the scheduler.</param>
    /// <param name="options">Batch size and slot length; defaults when null.</param>
    public MagmaBatchScheduler(MagmaModel model, MagmaSchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ObjectDisposedException.ThrowIf(model.IsDisposed, model);
        options ??= new MagmaSchedulerOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBatchSize, "options.MaxBatchSize");
        ArgumentOutOfRangeException.ThrowIfNegative(options.PositionsPerRequest, "options.PositionsPerRequest");
        _model = model;
        MaxBatchSize = options.MaxBatchSize;
        _onModelDisposing = () => _runner?.Dispose();
        if (model.SupportsBatching)
        {
            int positions = options.PositionsPerRequest > 0 ? Math.Min(options.PositionsPerRequest, model.ContextLength) : model.ContextLength;
            _runner = new BatchRunner(model.Engine, MaxBatchSize, positions, model.BatchLimits.CropsPerRun, model.BatchLimits.PrefillPositions);
            model.Disposing += _onModelDisposing;
            _loop = Task.Factory.StartNew(Loop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Requests decoded together at most.</summary>
    public int MaxBatchSize { get; }

    /// <summary>
    /// Runs <paramref name="request"/> in the shared batch and returns its answer. Safe to call from many threads at once.
    /// </summary>
    /// <exception cref="MagmaInputException">The request cannot be run (as for <see cref="MagmaModel.GenerateAsync"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the request leaves the batch at the next step.</exception>
    /// <exception cref="ObjectDisposedException">The scheduler (or its model) was disposed before the request finished.</exception>
    public Task<MagmaResponse> GenerateAsync(MagmaRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Volatile.Read(ref _disposed) != 0)
        {
            return Task.FromException<MagmaResponse>(new ObjectDisposedException(nameof(MagmaBatchScheduler)));
        }

        if (_runner is null)
        {
            return _model.GenerateAsync(request, cancellationToken);
        }

        if (request.Turns is null || request.Turns.Count == 0)
        {
            return Task.FromException<MagmaResponse>(new MagmaInputException("MagmaRequest.Turns is empty; add at least one user turn (MagmaPrompts.Conversation builds the usual system + user pair)."));
        }

        int[] ids;
        try
        {
            ids = _model.Engine.Tokenize(request.Turns);
        }
        catch (Exception e)
        {
            return Task.FromException<MagmaResponse>(e);
        }

        var pending = new Pending(new BatchEntry(ids, request.Images ?? [], request.Options ?? GenerationOptions.Greedy, cancellationToken));
        if (cancellationToken.CanBeCanceled)
        {
            // The caller is answered at once; the loop drops the request at its next step boundary.
            pending.Registration = cancellationToken.Register(static p =>
            {
                var (self, pending) = ((MagmaBatchScheduler, Pending))p!;
                pending.Result.TrySetCanceled(pending.Entry.CancellationToken);
                Interlocked.Increment(ref self._cancellations);
            }, (this, pending));
        }

        _arrivals.Enqueue(pending);
        _wake.Release();
        return pending.Result.Task;
    }

    private void Loop()
    {
        var admit = new List<BatchEntry>();
        var done = new List<BatchEntry>();
        Action<BatchEntry> completed = done.Add;
        while (true)
        {
            if (_runner!.Running == 0 && _arrivals.IsEmpty)
            {
                try
                {
                    _wake.Wait(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            _model.Gate.Wait();
            try
            {
                if (_model.IsDisposed || _stop.IsCancellationRequested)
                {
                    break;
                }

                // Cancelled requests leave first (looked for only after a cancellation: a step allocates nothing);
                // then arrivals take the free slots, then one step for everyone.
                if (Interlocked.Exchange(ref _cancellations, 0) > 0)
                {
                    foreach (BatchEntry e in _running.Keys.Where(e => e.CancellationToken.IsCancellationRequested).ToList())
                    {
                        _runner.Remove(e, new OperationCanceledException(e.CancellationToken), completed);
                    }
                }

                admit.Clear();
                int crops = 0;
                long positions = 0;
                while (admit.Count < _runner.FreeSlots && _arrivals.TryPeek(out Pending? p))
                {
                    // One boundary admits about one vision run and one prefill run of work (at least one request), so
                    // the running requests wait that long at most before their next token.
                    (int c, int length) = Cost(p.Entry);
                    if (admit.Count > 0 && (crops + c > _model.BatchLimits.CropsPerRun || positions + length > _model.BatchLimits.PrefillPositions))
                    {
                        break;
                    }

                    _arrivals.TryDequeue(out _);
                    if (p.Entry.CancellationToken.IsCancellationRequested)
                    {
                        p.Result.TrySetCanceled(p.Entry.CancellationToken);
                        p.Registration.Dispose();
                        continue;
                    }

                    (crops, positions) = (crops + c, positions + length);
                    _running[p.Entry] = p;
                    admit.Add(p.Entry);
                }

                try
                {
                    if (admit.Count > 0)
                    {
                        _runner.Admit(admit, completed);
                    }

                    _runner.Step(completed);
                }
                catch (Exception e)
                {
                    // Step failed every running request with e already; an admission failure outside any one request
                    // (the batch cache could not be allocated) fails the requests being admitted.
                    foreach (BatchEntry x in admit.Where(x => !x.Done && x.Slot < 0))
                    {
                        x.Error = e;
                        done.Add(x);
                    }

                    _runner.FailAll(e, completed);
                }

                if (_runner.Running == 0)
                {
                    _runner.ReleaseCache();
                }
            }
            finally
            {
                _model.Gate.Release();
            }

            Complete(done);
        }

        // Stopped: everything still here fails.
        var error = new ObjectDisposedException(nameof(MagmaBatchScheduler));
        foreach (Pending p in _running.Values)
        {
            p.Result.TrySetException(error);
            p.Registration.Dispose();
        }

        _running.Clear();
        while (_arrivals.TryDequeue(out Pending? p))
        {
            p.Result.TrySetException(error);
            p.Registration.Dispose();
        }
    }

    /// <summary>A request's crops and prompt positions, from the image sizes alone (0, 0 for bad input: admission fails it).</summary>
    private (int Crops, int Positions) Cost(BatchEntry e)
    {
        try
        {
            int positions = _model.Engine.CheckPrompt(e.PromptIds, e.Images, out _);
            int crops = 0;
            foreach (Imaging.RgbImage image in e.Images)
            {
                crops += _model.Engine.Preprocessor.SelectGrid(image.Width, image.Height).CropCount;
            }

            return (crops, positions);
        }
        catch (MagmaInputException)
        {
            return (0, 0);
        }
    }

    private void Complete(List<BatchEntry> done)
    {
        foreach (BatchEntry e in done)
        {
            if (!_running.Remove(e, out Pending? p))
            {
                continue;
            }

            p.Registration.Dispose();
            if (e.Error is OperationCanceledException)
            {
                p.Result.TrySetCanceled(e.CancellationToken);
            }
            else if (e.Error is not null)
            {
                p.Result.TrySetException(e.Error);
            }
            else
            {
                try
                {
                    MagmaResponse response = _model.Respond(e);
                    new MagmaTelemetry.RequestTelemetry(null, p.Start).Complete(response.Usage, response.FinishReason);
                    p.Result.TrySetResult(response);
                }
                catch (Exception ex)
                {
                    // The loop must go on for the others whatever one answer's decoding does.
                    p.Result.TrySetException(ex);
                }
            }
        }

        done.Clear();
    }

    /// <summary>Stops the scheduler: requests not yet answered fail with <see cref="ObjectDisposedException"/>; frees the batch cache.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _loop?.GetAwaiter().GetResult();
        Cleanup();
    }

    /// <summary>Stops the scheduler without blocking a thread (see <see cref="Dispose"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        Cleanup();
    }

    private void Cleanup()
    {
        if (_runner is not null)
        {
            _model.Disposing -= _onModelDisposing;
            _model.Gate.Wait();
            try
            {
                if (!_model.IsDisposed)
                {
                    _runner.Dispose();
                }
            }
            finally
            {
                _model.Gate.Release();
            }
        }

        // A request that raced the stop is answered too.
        while (_arrivals.TryDequeue(out Pending? p))
        {
            p.Result.TrySetException(new ObjectDisposedException(nameof(MagmaBatchScheduler)));
            p.Registration.Dispose();
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    /// <summary>A caller's request and the task it awaits.</summary>
    private sealed class Pending(BatchEntry entry)
    {
        public BatchEntry Entry { get; } = entry;

        public TaskCompletionSource<MagmaResponse> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Start { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

        public CancellationTokenRegistration Registration { get; set; }
    }
}
