using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;
using Magma.Inference.Text;

namespace Magma.Inference.Generation;

/// <summary>One request of a batch: its prompt, and once run, its tokens or its error. Owned by one <see cref="BatchRunner"/>.</summary>
internal sealed class BatchEntry(int[] ids, IReadOnlyList<RgbImage> images, GenerationOptions options, CancellationToken cancellationToken = default)
{
    public int[] PromptIds { get; } = ids;

    public IReadOnlyList<RgbImage> Images { get; } = images;

    public GenerationOptions Options { get; } = options;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Generated ids, a final stop token included (sized up front: steps do not grow it).</summary>
    public List<int> Generated { get; } = new(Math.Clamp(options.MaxNewTokens + 1, 1, 4096));

    public FinishReason? Finish { get; set; }

    /// <summary>Why the request failed alone (bad input, a failed run, cancellation); null while it runs or once finished.</summary>
    public Exception? Error { get; set; }

    public bool Done => Finish is not null || Error is not null;

    public int PromptTokens { get; set; }

    public int ImageTokens { get; set; }

    /// <summary>The slot of the batch cache this request decodes in; -1 before it is admitted and after it leaves.</summary>
    internal int Slot { get; set; } = -1;

    /// <summary>Positions this request may fill: min(slot capacity, prompt + max new tokens), as a request run alone.</summary>
    internal int Capacity { get; set; }

    internal int[] StopIds { get; set; } = [];

    internal ITokenSetConstraint? TokenSet { get; set; }

    internal TokenSampler? Sampler { get; set; }

    /// <summary>The streamed text and stop-string state of a request with <see cref="GenerationOptions.StopStrings"/>; null without.</summary>
    internal StopText? Stops { get; set; }

    /// <summary>The last prompt position's embedding, fed by the step that joins the request to the batch.</summary>
    internal byte[]? Join { get; set; }

    /// <summary>This step's token comes from the graph's argmax (under the step's shared bias) rather than the logits row.</summary>
    internal bool ChooseOnDevice { get; set; }
}

/// <summary>
/// Runs requests together over one <see cref="BatchDecodeContext"/> of fixed slots (continuous batching; GroupQueryAttention
/// packages only). <see cref="Admit"/> takes new requests at a step boundary: the crops of all their images go through
/// shared vision runs, their prompts are prefilled several per decoder run (right-padded, grouped by length) into free
/// slots, and each joins the running rows at the next <see cref="Step"/>, which feeds its last prompt position and so
/// yields its first token. A step advances every running request by one token in one decoder run; a finished request
/// leaves at once and frees its slot. Each request keeps its own options (sampling, processors, stop ids, limits);
/// its tokens are those of running it alone, up to the rounding of batched matrix products. A request's bad input
/// fails that request only (<see cref="BatchEntry.Error"/>). Not thread-safe: the caller serialises calls.
/// </summary>
internal sealed class BatchRunner : IDisposable
{
    private readonly MagmaEngine _engine;
    private readonly int _capacity;
    private readonly int _maxCropsPerRun;
    private readonly int _maxPrefillPositions;
    private readonly BatchEntry?[] _bySlot;
    private readonly int[] _tokens;
    private readonly bool[] _active;
    private BatchDecodeContext? _context;

    public BatchRunner(MagmaEngine engine, int slots, int capacity, int maxCropsPerVisionRun, int maxPrefillPositions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(slots);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCropsPerVisionRun);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPrefillPositions);
        _engine = engine;
        _capacity = Math.Min(capacity, engine.MaxSequence);
        _maxCropsPerRun = maxCropsPerVisionRun;
        _maxPrefillPositions = maxPrefillPositions;
        _bySlot = new BatchEntry?[slots];
        _tokens = new int[slots];
        _active = new bool[slots];
    }

    public int Slots => _bySlot.Length;

    /// <summary>Requests decoding now.</summary>
    public int Running { get; private set; }

    public int FreeSlots => Slots - Running;

    /// <summary>The batch cache while any request runs (tests read it).</summary>
    internal BatchDecodeContext? Context => _context;

    /// <summary>Decoder runs that prefilled prompts (tests check that prompts share them).</summary>
    internal int PrefillRuns { get; private set; }

    /// <summary>
    /// Checks a request as a batch slot would run it and prepares its sampling state; throws
    /// <see cref="MagmaInputException"/> for bad input. Nothing runs.
    /// </summary>
    public void Check(BatchEntry e)
    {
        e.Options.Validate();

        e.PromptTokens = _engine.CheckPrompt(e.PromptIds, e.Images, out int imageTokens);
        e.ImageTokens = imageTokens;
        if (e.PromptTokens > _capacity)
        {
            throw new MagmaInputException(
                $"The prompt fills {e.PromptTokens} positions; a batch slot holds {_capacity} (prompt and answer together). Use fewer or smaller images, a shorter chat, or larger slots.");
        }

        e.Capacity = (int)Math.Min(_capacity, (long)e.PromptTokens + e.Options.MaxNewTokens);
        e.StopIds = [.. _engine.StopIdsFor(e.Options)];
        e.TokenSet = e.Options.LogitsProcessors is [ITokenSetConstraint only] ? only : null;
        e.Sampler = new TokenSampler(_engine.Sessions.Manifest.Decoder.VocabSize, e.Options, e.Options.Seed ?? (ulong)Random.Shared.NextInt64());
        e.Stops = e.Options.StopStrings.Count > 0 ? new StopText(_engine.Tokenizer.CreateStreamingDecoder(skipSpecialTokens: true), e.Options.StopStrings) : null;
    }

    /// <summary>
    /// Admits up to <see cref="FreeSlots"/> requests. Those with bad input, or whose vision or prefill run fails on
    /// its own, end with <see cref="BatchEntry.Error"/> set (and <paramref name="completed"/> called); the others join
    /// the batch at the next <see cref="Step"/>.
    /// </summary>
    public void Admit(IReadOnlyList<BatchEntry> entries, Action<BatchEntry>? completed = null)
    {
        if (entries.Count > FreeSlots)
        {
            throw new InvalidOperationException($"{entries.Count} requests for {FreeSlots} free slots.");
        }

        var ok = new List<BatchEntry>(entries.Count);
        foreach (BatchEntry e in entries)
        {
            try
            {
                Check(e);
                ok.Add(e);
            }
            catch (Exception ex)
            {
                Fail(e, ex, completed);
            }
        }

        if (ok.Count == 0)
        {
            return;
        }

        long start = Stopwatch.GetTimestamp();
        byte[][]?[] blocks = EncodeVision(ok, completed);
        TimeSpan vision = Stopwatch.GetElapsedTime(start);
        if (ok.Any(e => e.Images.Count > 0))
        {
            MagmaTelemetry.RecordStage(MagmaTelemetry.Vision, vision);
        }

        var merged = new NativeBuffer?[ok.Count];
        try
        {
            for (int i = 0; i < ok.Count; i++)
            {
                BatchEntry e = ok[i];
                if (e.Done)
                {
                    continue;
                }

                try
                {
                    merged[i] = _engine.MergeEmbeddings(e.PromptIds, blocks[i]!, out int length, out _);
                    int vec = _engine.Sessions.Manifest.Decoder.HiddenSize * _engine.Package.Manifest.ElementSize;
                    e.Join = merged[i]!.HostSpan<byte>((long)(length - 1) * vec, vec).ToArray();
                }
                catch (Exception ex)
                {
                    Fail(e, ex, completed);
                }
            }

            _context ??= new BatchDecodeContext(_engine.Sessions, Slots, _capacity);
            Prefill(ok, merged, completed);
        }
        finally
        {
            foreach (NativeBuffer? m in merged)
            {
                m?.Dispose();
            }
        }

        MagmaTelemetry.RecordStage(MagmaTelemetry.Prefill, Stopwatch.GetElapsedTime(start) - vision);
    }

    /// <summary>Every request's image blocks: one set of shared vision runs, or per request when that fails (to find the culprit).</summary>
    private byte[][]?[] EncodeVision(List<BatchEntry> entries, Action<BatchEntry>? completed)
    {
        var blocks = new byte[][]?[entries.Count];
        var all = new List<RgbImage>();
        foreach (BatchEntry e in entries)
        {
            all.AddRange(e.Images);
        }

        if (all.Count > 0 && entries.Count > 1)
        {
            try
            {
                byte[][] flat = _engine.EncodeImages(all, _maxCropsPerRun);
                for (int i = 0, at = 0; i < entries.Count; at += entries[i].Images.Count, i++)
                {
                    blocks[i] = flat[at..(at + entries[i].Images.Count)];
                }

                return blocks;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Run each request's images alone below, so that only the request whose image fails is failed.
            }
        }

        for (int i = 0; i < entries.Count; i++)
        {
            try
            {
                blocks[i] = entries[i].Images.Count == 0 ? [] : _engine.EncodeImages(entries[i].Images, _maxCropsPerRun);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Fail(entries[i], new MagmaInputException($"An image of the request could not be encoded by the vision graph: {ex.Message}", ex), completed);
            }
        }

        return blocks;
    }

    /// <summary>
    /// Prefills the admitted prompts but their last position, several per decoder run: longest first, a run takes
    /// prompts while the padded run stays within the position budget and no prompt is under half the longest (so
    /// padding stays under half a run), into neighbouring free slots.
    /// </summary>
    private void Prefill(List<BatchEntry> entries, NativeBuffer?[] merged, Action<BatchEntry>? completed)
    {
        int vec = _context!.EmbeddingBytes;
        List<int> order = [.. Enumerable.Range(0, entries.Count).Where(i => !entries[i].Done)];
        order.Sort((x, y) => entries[y].PromptTokens.CompareTo(entries[x].PromptTokens));
        int next = 0;
        while (next < order.Count)
        {
            int width = entries[order[next]].PromptTokens - 1;
            if (width > 0 && _engine.Bucketing != PrefillBucketing.Off)
            {
                // The run's width rounded up as a single request's padded prefill is (a few shapes, not one per length).
                width = PrefillBuckets.Width(width, _capacity);
            }

            (int firstSlot, int freeRun) = LongestFreeRun();
            int n = 1;
            while (next + n < order.Count && n < freeRun
                && (long)(n + 1) * width <= _maxPrefillPositions
                && (entries[order[next + n]].PromptTokens - 1) * 2 >= width)
            {
                n++;
            }

            List<int> group = order.GetRange(next, n);
            next += n;
            RunPrefill(entries, merged, group, firstSlot, width, vec, completed);
        }
    }

    private void RunPrefill(List<BatchEntry> entries, NativeBuffer?[] merged, List<int> group, int firstSlot, int width, int vec, Action<BatchEntry>? completed)
    {
        int[] lengths = [.. group.Select(i => entries[i].PromptTokens - 1)];
        try
        {
            using NativeBuffer padded = NativeBuffer.Host(Math.Max(1L, (long)group.Count * width * vec));
            padded.Clear(0, padded.Bytes); // padding must be finite: zeros normalise to zeros
            for (int k = 0; k < group.Count; k++)
            {
                merged[group[k]]!.HostSpan<byte>(0, lengths[k] * vec).CopyTo(padded.HostSpan<byte>((long)k * width * vec, lengths[k] * vec));
            }

            _context!.Prefill(firstSlot, padded, width, lengths);
            PrefillRuns += width > 0 ? 1 : 0;
        }
        catch (Exception ex) when (group.Count > 1 && ex is not OutOfMemoryException)
        {
            // Prefill each alone, so that only a prompt that fails on its own is failed.
            for (int k = 0; k < group.Count; k++)
            {
                RunPrefill(entries, merged, [group[k]], firstSlot + k, lengths[k], vec, completed);
            }

            return;
        }
        catch (Exception ex)
        {
            Fail(entries[group[0]], ex, completed);
            return;
        }

        for (int k = 0; k < group.Count; k++)
        {
            BatchEntry e = entries[group[k]];
            int slot = firstSlot + k;
            e.Slot = slot;
            _bySlot[slot] = e;
            Running++;
            _context!.QueueEmbedding(slot, e.Join!);
            e.Join = null;
        }
    }

    /// <summary>The first longest run of free slots.</summary>
    private (int Start, int Length) LongestFreeRun()
    {
        int bestStart = 0, best = 0;
        for (int s = 0; s < Slots;)
        {
            if (_bySlot[s] is not null)
            {
                s++;
                continue;
            }

            int start = s;
            while (s < Slots && _bySlot[s] is null)
            {
                s++;
            }

            if (s - start > best)
            {
                (bestStart, best) = (start, s - start);
            }
        }

        return (bestStart, best);
    }

    /// <summary>
    /// One decoder run for every running request: joining ones take their last prompt position, the others their
    /// last token. Each then picks its next token; finished requests leave (<paramref name="completed"/> is called).
    /// </summary>
    public void Step(Action<BatchEntry>? completed = null)
    {
        if (Running == 0)
        {
            return;
        }

        BatchDecodeContext context = _context!;
        int rows = 0;
        bool biasChosen = false;
        int[]? bias = null;
        for (int s = 0; s < Slots; s++)
        {
            BatchEntry? e = _bySlot[s];
            _active[s] = e is not null;
            if (e is null)
            {
                continue;
            }

            rows = s + 1;
            _tokens[s] = e.Generated.Count > 0 ? e.Generated[^1] : 0;
            // Greedy rows whose only processor is a token set (or none) can take the graph's argmax under one shared
            // bias row: the first such row picks the set; rows that want another set read their logits instead.
            e.ChooseOnDevice = false;
            if (!context.CanSelectOnDevice || e.Options.DoSample || (e.Options.LogitsProcessors.Count > 0 && e.TokenSet is null))
            {
                continue;
            }

            int[]? wanted = e.TokenSet?.AllowedAt(e.Generated.Count);
            if (!biasChosen)
            {
                (bias, biasChosen) = (wanted, true);
            }

            e.ChooseOnDevice = ReferenceEquals(wanted, bias);
        }

        if (biasChosen)
        {
            context.RestrictTokens(bias);
        }

        try
        {
            context.Step(_tokens, _active, rows);
        }
        catch (Exception ex)
        {
            // A failed run leaves every row's cache in doubt: all running requests fail with it.
            FailAll(ex, completed);
            throw;
        }

        for (int s = 0; s < rows; s++)
        {
            if (_bySlot[s] is not BatchEntry e)
            {
                continue;
            }

            int token = e.ChooseOnDevice ? context.Selected(s) : Choose(e, context.Logits(s));
            Append(e, token, context.Position(s));
            if (e.Done)
            {
                Leave(e, completed);
            }
        }
    }

    private static int Choose(BatchEntry e, Span<float> logits)
    {
        ReadOnlySpan<int> generated = CollectionsMarshal.AsSpan(e.Generated);
        foreach (ILogitsProcessor p in e.Options.LogitsProcessors)
        {
            p.Process(generated, logits);
        }

        return e.Sampler!.Next(logits);
    }

    /// <summary>The stop rules of <see cref="GenerationLoop"/>, in its order, for a request whose cache holds <paramref name="position"/> positions.</summary>
    private static void Append(BatchEntry e, int token, int position)
    {
        e.Generated.Add(token);
        if (Array.IndexOf(e.StopIds, token) >= 0)
        {
            e.Finish = FinishReason.StopToken;
            e.Stops?.Settle(e.Stops.Decoder.Flush(), final: true);
            return;
        }

        if (e.Stops is StopText stops)
        {
            bool final = e.Generated.Count >= e.Options.MaxNewTokens || position >= e.Capacity;
            string piece = stops.Decoder.Append(token);
            if (stops.Settle(final ? piece + stops.Decoder.Flush() : piece, final))
            {
                e.Finish = FinishReason.StopString;
                return;
            }
        }

        if (e.Generated.Count >= e.Options.MaxNewTokens)
        {
            e.Finish = FinishReason.MaxTokens;
        }
        else if (position >= e.Capacity)
        {
            e.Finish = FinishReason.ContextLimit;
        }
        else if (e.TokenSet?.AllowedAt(e.Generated.Count) is [int forced] && Array.IndexOf(e.StopIds, forced) >= 0)
        {
            // The constraint leaves only a stop token (a robot action's EOS): no run is needed to pick it.
            e.Generated.Add(forced);
            e.Finish = FinishReason.StopToken;
        }
    }

    /// <summary>Takes a request out of the batch (cancelled by its caller); the others carry on.</summary>
    public void Remove(BatchEntry e, Exception reason, Action<BatchEntry>? completed = null)
    {
        if (e.Slot >= 0 && _bySlot[e.Slot] == e)
        {
            e.Error ??= reason;
            Leave(e, completed);
        }
    }

    /// <summary>The requests in the batch now.</summary>
    public IEnumerable<BatchEntry> Entries => _bySlot.OfType<BatchEntry>();

    /// <summary>Fails every running request with <paramref name="error"/>.</summary>
    public void FailAll(Exception error, Action<BatchEntry>? completed = null)
    {
        foreach (BatchEntry e in Entries.ToList())
        {
            e.Error ??= error;
            Leave(e, completed);
        }
    }

    private void Leave(BatchEntry e, Action<BatchEntry>? completed)
    {
        _bySlot[e.Slot] = null;
        _context?.Release(e.Slot);
        e.Slot = -1;
        Running--;
        completed?.Invoke(e);
    }

    private static void Fail(BatchEntry e, Exception error, Action<BatchEntry>? completed)
    {
        e.Error = error;
        completed?.Invoke(e);
    }

    /// <summary>Frees the batch cache while no request runs (the next admission allocates it again).</summary>
    public void ReleaseCache()
    {
        if (Running == 0)
        {
            _context?.Dispose();
            _context = null;
        }
    }

    public void Dispose()
    {
        _context?.Dispose();
        _context = null;
    }
}

/// <summary>
/// A batched request's streamed text under its stop strings: what <see cref="GenerationLoop"/> does for a request run
/// alone (text that could still start a stop string is held back; a match ends the request and cuts the text there).
/// </summary>
internal sealed class StopText(StreamingDecoder decoder, IReadOnlyList<string> stops)
{
    private readonly StopStringMatcher _stops = new(stops);
    private readonly StringBuilder _pending = new();

    public StreamingDecoder Decoder { get; } = decoder;

    /// <summary>The text settled so far (the answer's text once the request ends).</summary>
    public StringBuilder Text { get; } = new();

    /// <summary>Adds a decoded piece; returns true when a stop string matched (the text then ends before it).</summary>
    public bool Settle(string piece, bool final)
    {
        int searchFrom = _pending.Length;
        _pending.Append(piece);
        string pending = _pending.ToString();
        int stop = _stops.FindStop(pending, searchFrom);
        if (stop >= 0)
        {
            Text.Append(pending.AsSpan(0, stop));
            _pending.Clear();
            return true;
        }

        int safe = final ? pending.Length : _stops.SafeLength(pending);
        Text.Append(pending.AsSpan(0, safe));
        _pending.Remove(0, safe);
        return false;
    }
}
