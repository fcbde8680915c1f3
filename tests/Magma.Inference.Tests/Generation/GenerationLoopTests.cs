using Magma.Inference.Generation;

namespace Magma.Inference.Tests.Generation;

public sealed class GenerationLoopTests
{
    private const int Vocab = 128264;
    private const int Eos = 128009;

    [Fact]
    public void Stops_at_a_stop_id_keeps_it_in_the_ids_and_feeds_nothing_after_it()
    {
        int[] script = [5, 6, Eos, 7];
        var d = new FakeDecoder(Vocab, step => Logits.Peaked(Vocab, script[step]));
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 10 }, stops: [Eos]);
        List<int> ids = Logits.RunAll(loop, out string text);
        Assert.Equal(new[] { 5, 6, Eos }, ids);
        Assert.Equal(new[] { 5, 6 }, d.Fed);
        Assert.Equal("<5><6>", text);
        Assert.Equal(FinishReason.StopToken, loop.Finish);
    }

    [Fact]
    public void Stops_after_max_new_tokens()
    {
        var d = new FakeDecoder(100, _ => Logits.Peaked(100, 3));
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 4 });
        Assert.Equal(4, Logits.RunAll(loop, out _).Count);
        Assert.Equal(3, d.Fed.Count);
        Assert.Equal(FinishReason.MaxTokens, loop.Finish);
    }

    [Fact]
    public void Stop_string_ends_generation_and_is_not_emitted_even_across_tokens()
    {
        string[] pieces = ["Hello", " wor", "ld. ", "ST", "OP", " more"];
        var d = new FakeDecoder(10, step => Logits.Peaked(10, step));
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 10, StopStrings = ["STOP"] }, text: i => pieces[i]);
        var deltas = new List<string>();
        while (loop.MoveNext(CancellationToken.None, out _, out string delta))
        {
            deltas.Add(delta);
        }

        Assert.Equal("Hello world. ", string.Concat(deltas));
        Assert.DoesNotContain(deltas, x => x.Contains('S', StringComparison.Ordinal));
        Assert.Equal(FinishReason.StopString, loop.Finish);
        Assert.Equal(5, loop.Generated.Count);
    }

    [Fact]
    public void Held_back_stop_prefix_is_released_when_it_turns_out_not_to_be_a_stop()
    {
        string[] pieces = ["a", "ST", "x", "b"];
        var d = new FakeDecoder(10, step => Logits.Peaked(10, step));
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 4, StopStrings = ["STOP"] }, text: i => pieces[i]);
        var deltas = new List<string>();
        while (loop.MoveNext(CancellationToken.None, out _, out string delta))
        {
            deltas.Add(delta);
        }

        Assert.Equal(new[] { "a", "", "STx", "b" }, deltas);
        Assert.Equal(FinishReason.MaxTokens, loop.Finish);
    }

    [Fact]
    public void Full_cache_finishes_with_context_limit()
    {
        var d = new FakeDecoder(10, _ => Logits.Peaked(10, 1), capacity: 5, promptLength: 3);
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 100 });
        List<int> ids = Logits.RunAll(loop, out _);
        Assert.Equal(3, ids.Count);
        Assert.Equal(FinishReason.ContextLimit, loop.Finish);
    }

    [Fact]
    public void Cancellation_is_checked_before_every_step()
    {
        var d = new FakeDecoder(10, _ => Logits.Peaked(10, 1));
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 100 });
        using var cts = new CancellationTokenSource();
        Assert.True(loop.MoveNext(cts.Token, out _, out _));
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => loop.MoveNext(cts.Token, out _, out _));
        Assert.Empty(d.Fed);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Action_constraint_always_gives_seven_action_ids_then_eos(ulong seed)
    {
        // Logits that strongly prefer ordinary text tokens and EOS: the constraint must still force a valid action.
        var rng = new Random(1234);
        var d = new FakeDecoder(Vocab, _ =>
        {
            var l = new float[Vocab];
            for (int i = 0; i < 2000; i++)
            {
                l[rng.Next(Vocab)] = 20f;
            }

            l[Eos] = 30f;
            return l;
        });
        var constraint = new ActionTokenConstraint(baseVocabSize: 128000, stopTokenId: Eos);
        GenerationLoop loop = Logits.Loop(
            d, new GenerationOptions { DoSample = true, Temperature = 0.7f, MaxNewTokens = 20, LogitsProcessors = [constraint] }, stops: [Eos], seed: seed);
        List<int> ids = Logits.RunAll(loop, out _);
        Assert.Equal(8, ids.Count);
        Assert.All(ids.Take(7), id => Assert.InRange(id, 127744, 127999));
        Assert.Equal(Eos, ids[7]);
    }

    [Fact]
    public void Allowed_tokens_processor_restricts_every_step()
    {
        var d = new FakeDecoder(100, step => Logits.Peaked(100, 50));
        GenerationLoop loop = Logits.Loop(d, new GenerationOptions { MaxNewTokens = 30, DoSample = true, TopK = 0, LogitsProcessors = [new AllowedTokensProcessor([3, 7, 9])] });
        List<int> ids = Logits.RunAll(loop, out _);
        Assert.All(ids, id => Assert.Contains(id, new[] { 3, 7, 9 }));
    }
}
