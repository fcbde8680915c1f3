using Magma.Inference.Generation;
using Magma.Inference.Text;
using Magma.Tasks;

namespace Magma.Inference.Tests.Engine;

/// <summary>Request-level behaviour of <see cref="MagmaModel"/> on the tiny package.</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class EngineBehaviourTests(TinyMagmaFixture fixture)
{
    private readonly MagmaModel _model = fixture.Model;

    private static MagmaRequest TextRequest(GenerationOptions options) => new()
    {
        Turns = MagmaPrompts.Conversation("What is the capital of France? Answer briefly."),
        Options = options,
    };

    [Fact]
    public async Task Each_request_allocates_exactly_one_kv_cache_sized_to_its_length()
    {
        int before = _model.Engine.KvCachesCreated;
        MagmaResponse r = await _model.GenerateAsync(TextRequest(new GenerationOptions { MaxNewTokens = 5, StopTokenIds = [] }));

        Assert.Equal(before + 1, _model.Engine.KvCachesCreated);
        (long bytes, int buffers, int capacity) = _model.Engine.LastKvCache;
        Assert.Equal(r.Usage.PromptTokens + 5, capacity);
        // tiny-magma's decoder is a GroupQueryAttention graph: one buffer per layer for K and one for V, bound as
        // both past and present, so the request holds exactly one copy of its cache: 2 layers x (K,V).
        Assert.True(_model.Engine.Sessions.SharedKv);
        Assert.Equal(2 * 2, buffers);
        Assert.Equal(buffers * 2L /*kv heads*/ * capacity * 8 /*head dim*/ * sizeof(float), bytes);
    }

    [Fact]
    public async Task WarmUp_runs_two_short_requests_and_leaves_answers_unchanged()
    {
        var options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] };
        MagmaResponse before = await _model.GenerateAsync(TextRequest(options));
        int caches = _model.Engine.KvCachesCreated;

        _model.Engine.WarmUp(); // what Load does on CUDA after the vision shapes: a greedy and a sampled request

        Assert.Equal(caches + 2, _model.Engine.KvCachesCreated);
        MagmaResponse after = await _model.GenerateAsync(TextRequest(options));
        Assert.Equal(before.TokenIds, after.TokenIds);
    }

    [Fact]
    public async Task Streaming_deltas_concatenate_to_the_generated_text_and_end_with_usage()
    {
        var options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [] };
        MagmaResponse full = await _model.GenerateAsync(TextRequest(options));

        var text = new System.Text.StringBuilder();
        var ids = new List<int>();
        MagmaStreamUpdate? last = null;
        await foreach (MagmaStreamUpdate u in _model.StreamAsync(TextRequest(options)))
        {
            text.Append(u.Text);
            ids.Add(u.TokenId);
            last = u;
        }

        Assert.Equal(full.TokenIds, ids);
        Assert.Equal(full.Text, text.ToString().Trim());
        Assert.Equal(FinishReason.MaxTokens, last!.FinishReason);
        Assert.Equal(12, last.Usage!.CompletionTokens);
    }

    [Fact]
    public async Task Cancelling_mid_decode_stops_within_one_step()
    {
        using var cts = new CancellationTokenSource();
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (MagmaStreamUpdate _ in _model.StreamAsync(TextRequest(new GenerationOptions { MaxNewTokens = 200, StopTokenIds = [] }), cts.Token))
            {
                received++;
                if (received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal(3, received);

        // The model is still usable afterwards (the gate was released, the cache freed).
        MagmaResponse after = await _model.GenerateAsync(TextRequest(new GenerationOptions { MaxNewTokens = 2, StopTokenIds = [] }));
        Assert.Equal(2, after.TokenIds.Count);
    }

    [Fact]
    public async Task Concurrent_requests_queue_and_give_the_same_ids_as_sequential_ones()
    {
        var options = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [] };
        MagmaResponse sequential = await _model.GenerateAsync(TextRequest(options));
        MagmaResponse[] parallel = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => _model.GenerateAsync(TextRequest(options)))));
        Assert.All(parallel, p => Assert.Equal(sequential.TokenIds, p.TokenIds));
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_run_to_run()
    {
        var options = new GenerationOptions { MaxNewTokens = 16, DoSample = true, Temperature = 1.5f, Seed = 42, StopTokenIds = [] };
        MagmaResponse a = await _model.GenerateAsync(TextRequest(options));
        MagmaResponse b = await _model.GenerateAsync(TextRequest(options));
        MagmaResponse c = await _model.GenerateAsync(TextRequest(new GenerationOptions { MaxNewTokens = 16, DoSample = true, Temperature = 1.5f, Seed = 43, StopTokenIds = [] }));
        Assert.Equal(a.TokenIds, b.TokenIds);
        Assert.NotEqual(a.TokenIds, c.TokenIds);
    }

    [Fact]
    public async Task Prompt_over_the_context_limit_says_by_how_many_tokens()
    {
        using MagmaModel small = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, MaxSequenceLength = 30 });
        MagmaInputException ex = await Assert.ThrowsAsync<MagmaInputException>(() => small.GenerateAsync(TextRequest(GenerationOptions.Greedy)));
        // The text prompt is 37 positions: 7 over a limit of 30.
        Assert.Contains("37 positions", ex.Message, StringComparison.Ordinal);
        Assert.Contains("7 more than the context limit of 30", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generation_stops_at_the_context_limit_with_ContextLimit()
    {
        using MagmaModel small = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, MaxSequenceLength = 40 });
        MagmaResponse r = await small.GenerateAsync(TextRequest(new GenerationOptions { MaxNewTokens = 100, StopTokenIds = [] }));
        Assert.Equal(FinishReason.ContextLimit, r.FinishReason);
        // 37 prompt positions, 3 fed tokens fill the cache of 40, and the logits after the last one give a 4th token.
        Assert.Equal(4, r.TokenIds.Count);
    }

    [Fact]
    public async Task Image_placeholders_must_match_the_images()
    {
        MagmaInputException ex = await Assert.ThrowsAsync<MagmaInputException>(() => _model.GenerateAsync(new MagmaRequest
        {
            Turns = MagmaPrompts.Conversation(MagmaPrompts.VisualQuestion("What is this?", useImageStartEnd: true)),
        }));
        Assert.Contains("1 <image> placeholder(s) but the request carries 0 image(s)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Action_prediction_always_yields_seven_action_tokens_then_eos()
    {
        var image = Magma.Inference.Imaging.RgbImage.FromPixels(64, 64, new byte[64 * 64 * 3]);
        var decoder = Magma.Tasks.Decoding.RobotActionDecoder.ForBridge();
        for (ulong seed = 1; seed <= 3; seed++)
        {
            var result = await _model.PredictActionAsync(image, "pick up the cup", decoder, new GenerationOptions { DoSample = true, Temperature = 0.7f, Seed = seed, MaxNewTokens = 8 });
            Assert.True(result.IsSuccess, result.FailureReason);
        }
    }

    [Fact]
    public void The_action_constraint_is_built_once_per_model_from_its_package()
    {
        ActionTokenConstraint first = _model.ActionConstraint();
        Assert.Same(first, _model.ActionConstraint());
        Assert.Equal(_model.Package.Manifest.Tokens.BaseVocabSize - ActionTokenConstraint.BinCount, first.FirstActionId);
    }

    [Fact]
    public void Changing_one_option_with_with_keeps_every_other_field()
    {
        GenerationOptions seeded = GenerationOptions.RobotAction with { Seed = 7 };
        Assert.Equal(7UL, seeded.Seed);
        Assert.Equal(GenerationOptions.RobotAction with { Seed = null }, GenerationOptions.RobotAction);
        Assert.Equal((true, 0.7f, 8), (seeded.DoSample, seeded.Temperature, seeded.MaxNewTokens));
        Assert.Null(GenerationOptions.RobotAction.Seed);
    }
}
