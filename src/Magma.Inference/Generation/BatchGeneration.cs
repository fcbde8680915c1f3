using Magma.Inference.Imaging;
using Magma.Inference.Onnx;

namespace Magma.Inference.Generation;

/// <summary>One request of a batch, tokenized.</summary>
internal sealed record BatchItem(int[] Ids, IReadOnlyList<RgbImage> Images, GenerationOptions Options);

/// <summary>What one request of a batch produced.</summary>
internal sealed record BatchOutcome(List<int> Ids, FinishReason Finish, int PromptTokens, int ImageTokens);

/// <summary>
/// Decodes several requests together over one <see cref="BatchDecodeContext"/>: each prompt is encoded and prefilled
/// on its own (lengths differ), then every step advances all unfinished requests in one decoder run. Each request keeps
/// its own options (sampling, processors, stop ids, token limit); when all are greedy with no processors, or share one
/// token-set constraint (N robots asking for actions), the graph chooses the tokens and only ids come back.
/// The tokens are those of running each request alone, up to the rounding differences of a batched matrix product.
/// </summary>
internal static class BatchGeneration
{
    public static IReadOnlyList<BatchOutcome> Run(MagmaEngine engine, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        // Every request is checked before any of them costs a vision run.
        Validate(engine, items);
        int n = items.Count;
        var embeds = new NativeBuffer?[n];
        var lengths = new int[n];
        var imageTokens = new int[n];
        try
        {
            int capacity = Embed(engine, items, embeds, lengths, imageTokens, cancellationToken);
            using var context = new BatchDecodeContext(engine.Sessions, n, capacity);
            ITokenSetConstraint? shared = SharedConstraint(items);
            bool onDevice = context.CanSelectOnDevice && items.All(x => !x.Options.DoSample)
                && (items.All(x => x.Options.LogitsProcessors.Count == 0) || shared is not null);
            context.SelectOnDevice(onDevice);
            if (onDevice && shared is not null)
            {
                context.RestrictTokens(shared.AllowedAt(0));
            }

            Row[] rows = Prefill(engine, context, items, embeds, lengths);
            Decode(context, rows, shared, onDevice, capacity, cancellationToken);
            var outcomes = new BatchOutcome[n];
            for (int i = 0; i < n; i++)
            {
                outcomes[i] = new BatchOutcome(rows[i].Ids, rows[i].Finish!.Value, lengths[i], imageTokens[i]);
            }

            return outcomes;
        }
        finally
        {
            foreach (NativeBuffer? e in embeds)
            {
                e?.Dispose();
            }
        }
    }

    // Every request is checked, its context included, before any of them costs a vision run.
    private static void Validate(MagmaEngine engine, IReadOnlyList<BatchItem> items)
    {
        for (int i = 0; i < items.Count; i++)
        {
            items[i].Options.Validate();
            if (items[i].Options.StopStrings.Count > 0)
            {
                throw new MagmaInputException($"Request {i} of the batch has StopStrings; batches stop on token ids only. Run it on its own.");
            }

            try
            {
                engine.CheckPrompt(items[i].Ids, items[i].Images, out _);
            }
            catch (MagmaInputException e)
            {
                throw new MagmaInputException($"Request {i} of the batch: {e.Message}", e);
            }
        }
    }

    /// <summary>Each prompt's merged embeddings (vision included); returns the positions the longest request may fill.</summary>
    private static int Embed(MagmaEngine engine, IReadOnlyList<BatchItem> items, NativeBuffer?[] embeds, int[] lengths, int[] imageTokens, CancellationToken cancellationToken)
    {
        int capacity = 0;
        for (int i = 0; i < items.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            embeds[i] = engine.BuildEmbeddings(items[i].Ids, items[i].Images, out lengths[i], out imageTokens[i]);
            capacity = Math.Max(capacity, (int)Math.Min(engine.MaxSequence, (long)lengths[i] + items[i].Options.MaxNewTokens));
        }

        return capacity;
    }

    /// <summary>Prefills each prompt into its row of the cache, releasing its embeddings as soon as they are used.</summary>
    private static Row[] Prefill(MagmaEngine engine, BatchDecodeContext context, IReadOnlyList<BatchItem> items, NativeBuffer?[] embeds, int[] lengths)
    {
        var rows = new Row[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            context.Prefill(i, embeds[i]!, lengths[i]);
            embeds[i]!.Dispose();
            embeds[i] = null;
            rows[i] = new Row(items[i].Options, engine.StopIdsFor(items[i].Options), engine.Sessions.Manifest.Decoder.VocabSize);
        }

        return rows;
    }

    /// <summary>Steps every unfinished row together until all have finished.</summary>
    private static void Decode(BatchDecodeContext context, Row[] rows, ITokenSetConstraint? shared, bool onDevice, int capacity, CancellationToken cancellationToken)
    {
        int n = rows.Length;
        var active = new bool[n];
        var feed = new int[n];
        int generated = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool any = false;
            for (int i = 0; i < n; i++)
            {
                Row r = rows[i];
                if (r.Finish is not null)
                {
                    active[i] = false;
                    continue;
                }

                int token = NextToken(context, i, r, shared, onDevice);
                r.Ids.Add(token);
                if (Array.IndexOf(r.StopIds, token) >= 0)
                {
                    r.Finish = FinishReason.StopToken;
                }
                else if (r.Ids.Count >= r.MaxNewTokens)
                {
                    r.Finish = FinishReason.MaxTokens;
                }
                else if (context.Position(i) >= capacity)
                {
                    r.Finish = FinishReason.ContextLimit;
                }

                active[i] = r.Finish is null;
                feed[i] = token;
                any |= active[i];
            }

            if (!any)
            {
                return;
            }

            generated++;
            if (onDevice && shared is not null)
            {
                context.RestrictTokens(shared.AllowedAt(generated));
            }

            context.Step(feed, active);
        }
    }

    /// <summary>Row <paramref name="i"/>'s next token: forced by its constraint, chosen on the device, or sampled from its logits.</summary>
    private static int NextToken(BatchDecodeContext context, int i, Row r, ITokenSetConstraint? shared, bool onDevice)
    {
        int[]? allowed = (shared ?? (r.Processors is [ITokenSetConstraint one] ? one : null))?.AllowedAt(r.Ids.Count);
        if (allowed is [int forced] && Array.IndexOf(r.StopIds, forced) >= 0)
        {
            return forced; // the constraint leaves only a stop token: no logits needed
        }

        return onDevice ? context.Selected(i) : r.Choose(context.Logits(i));
    }

    /// <summary>The one token-set constraint every request uses as its only processor, if they all do.</summary>
    private static ITokenSetConstraint? SharedConstraint(IReadOnlyList<BatchItem> items)
    {
        ITokenSetConstraint? first = items[0].Options.LogitsProcessors is [ITokenSetConstraint c] ? c : null;
        return first is not null && items.All(x => x.Options.LogitsProcessors is [ITokenSetConstraint other] && ReferenceEquals(other, first))
            ? first
            : null;
    }

    /// <summary>One request's sampling state.</summary>
    private sealed class Row(GenerationOptions options, IReadOnlyList<int> stopIds, int vocab)
    {
        private readonly TokenSampler _sampler = new(vocab, options, options.Seed ?? (ulong)Random.Shared.NextInt64());

        public IReadOnlyList<ILogitsProcessor> Processors { get; } = options.LogitsProcessors;

        public int[] StopIds { get; } = [.. stopIds];

        public int MaxNewTokens { get; } = options.MaxNewTokens;

        public List<int> Ids { get; } = [];

        public FinishReason? Finish { get; set; }

        public int Choose(Span<float> logits)
        {
            ReadOnlySpan<int> generated = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Ids);
            foreach (ILogitsProcessor p in Processors)
            {
                p.Process(generated, logits);
            }

            return _sampler.Next(logits);
        }
    }
}
