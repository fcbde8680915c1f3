using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// <see cref="MagmaBatchScheduler"/>: concurrent callers get the tokens of sequential calls, late arrivals join a
/// running batch, a cancelled request leaves alone, a bad one fails alone. No test waits on time: the order of events
/// is forced from inside the decode loop (logits processors run on the scheduler's thread between steps).
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class BatchSchedulerTests(TinyMagmaFixture fixture)
{
    private readonly MagmaModel _model = fixture.Model;

    private static MagmaRequest With(MagmaRequest r, GenerationOptions options) => new() { Turns = r.Turns, Images = r.Images, Options = options };

    private async Task AssertSameAsAlone(MagmaRequest request, MagmaResponse batched)
    {
        MagmaResponse alone = await _model.GenerateAsync(request);
        Assert.Equal(alone.TokenIds, batched.TokenIds);
        Assert.Equal(alone.Text, batched.Text);
        Assert.Equal(alone.Usage, batched.Usage);
        Assert.Equal(alone.FinishReason, batched.FinishReason);
    }

    [Fact]
    public async Task Concurrent_callers_get_the_tokens_of_sequential_calls()
    {
        var action = new ActionTokenConstraint(128000, 128009);
        MagmaRequest[] mix = BatchedPrefillTests.Mix(_model.UseImageStartEnd);
        MagmaRequest[] requests =
        [
            .. mix.Select((r, i) => With(r, new GenerationOptions { MaxNewTokens = 4 + (i * 3), StopTokenIds = [] })),
            With(mix[3], new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action] }),
            With(mix[0], new GenerationOptions { MaxNewTokens = 9, StopTokenIds = [], DoSample = true, Temperature = 0.8f, Seed = 42 }),
            With(mix[2], new GenerationOptions { MaxNewTokens = 7, LogitsProcessors = [new AllowedTokensProcessor([13, 220, 5598, 128009])] }),
            With(mix[1], new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [], StopStrings = ["e", "a"] }),
        ];

        // Fewer slots than callers: some wait for a slot, then join the running batch.
        await using var scheduler = new MagmaBatchScheduler(_model, new MagmaSchedulerOptions { MaxBatchSize = 4 });
        MagmaResponse[] batched = await Task.WhenAll(requests.Select(r => Task.Run(() => scheduler.GenerateAsync(r))));
        for (int i = 0; i < requests.Length; i++)
        {
            await AssertSameAsAlone(requests[i], batched[i]);
        }

        Assert.Equal(128009, batched[^4].TokenIds[^1]);
        Assert.Equal(8, batched[^4].TokenIds.Count);
    }

    [Fact]
    public async Task A_request_that_arrives_while_others_decode_joins_them_and_finishes_first()
    {
        MagmaRequest[] mix = BatchedPrefillTests.Mix(_model.UseImageStartEnd);
        await using var scheduler = new MagmaBatchScheduler(_model, new MagmaSchedulerOptions { MaxBatchSize = 4 });
        MagmaRequest late = With(mix[4], new GenerationOptions { MaxNewTokens = 3, StopTokenIds = [] });
        Task<MagmaResponse>? lateTask = null;
        bool lateDoneWhileLongRan = false;
        var probe = new Probe((count) =>
        {
            if (count == 2)
            {
                lateTask = scheduler.GenerateAsync(late); // from the decode loop: the long request is mid-answer
            }
            else if (count == 12)
            {
                lateDoneWhileLongRan = lateTask!.IsCompleted;
            }
        });
        MagmaRequest longer = With(mix[0], new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [], LogitsProcessors = [probe] });

        MagmaResponse first = await scheduler.GenerateAsync(longer);
        Assert.NotNull(lateTask);
        Assert.True(lateDoneWhileLongRan, "the late request should have joined the running batch and finished within its 3 steps");
        await AssertSameAsAlone(With(longer, new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [] }), first);
        await AssertSameAsAlone(late, await lateTask!);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_and_the_others_are_undisturbed()
    {
        MagmaRequest[] mix = BatchedPrefillTests.Mix(_model.UseImageStartEnd);
        await using var scheduler = new MagmaBatchScheduler(_model);
        using var cts = new CancellationTokenSource();
        var options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [] };
        var cancelAtThird = new Probe(count =>
        {
            if (count == 3)
            {
                cts.Cancel();
            }
        });

        Task<MagmaResponse> a = scheduler.GenerateAsync(With(mix[1], options));
        Task<MagmaResponse> cancelled = scheduler.GenerateAsync(With(mix[5], new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [], LogitsProcessors = [cancelAtThird] }), cts.Token);
        Task<MagmaResponse> b = scheduler.GenerateAsync(With(mix[3], options));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await AssertSameAsAlone(With(mix[1], options), await a);
        await AssertSameAsAlone(With(mix[3], options), await b);
        Assert.True(cancelAtThird.Calls <= 4, $"the cancelled request kept decoding ({cancelAtThird.Calls} tokens)");

        // A request cancelled before it is admitted never runs.
        Task<MagmaResponse> never = scheduler.GenerateAsync(With(mix[0], options), new CancellationToken(canceled: true));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => never);
    }

    [Fact]
    public async Task A_bad_request_fails_alone_with_a_clear_message()
    {
        MagmaRequest[] mix = BatchedPrefillTests.Mix(_model.UseImageStartEnd);
        using var index = TinyMagma.Index();
        RgbImage screen = TinyMagma.Image(index.RootElement, "screen_1280x720");
        var options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] };
        await using var scheduler = new MagmaBatchScheduler(_model, new MagmaSchedulerOptions { PositionsPerRequest = 600 });

        Task<MagmaResponse> good1 = scheduler.GenerateAsync(With(mix[3], options));
        Task<MagmaResponse> noPlaceholder = scheduler.GenerateAsync(new MagmaRequest { Turns = MagmaPrompts.Conversation("No placeholder here."), Images = [screen], Options = options });
        Task<MagmaResponse> nullImage = scheduler.GenerateAsync(new MagmaRequest { Turns = mix[3].Turns, Images = [null!], Options = options });
        Task<MagmaResponse> overSlot = scheduler.GenerateAsync(With(mix[5], options)); // 4 crops: over 600 positions
        Task<MagmaResponse> badOptions = scheduler.GenerateAsync(With(mix[0], new GenerationOptions { MaxNewTokens = 0 }));
        Task<MagmaResponse> good2 = scheduler.GenerateAsync(With(mix[2], options));

        Assert.Contains("placeholder", (await Assert.ThrowsAsync<MagmaInputException>(() => noPlaceholder)).Message, StringComparison.Ordinal);
        Assert.Contains("Images[0] is null", (await Assert.ThrowsAsync<MagmaInputException>(() => nullImage)).Message, StringComparison.Ordinal);
        Assert.Contains("a batch slot holds 600", (await Assert.ThrowsAsync<MagmaInputException>(() => overSlot)).Message, StringComparison.Ordinal);
        Assert.Contains("MaxNewTokens", (await Assert.ThrowsAsync<MagmaInputException>(() => badOptions)).Message, StringComparison.Ordinal);
        await AssertSameAsAlone(With(mix[3], options), await good1);
        await AssertSameAsAlone(With(mix[2], options), await good2);
    }

    [Fact]
    public async Task Requests_left_when_the_scheduler_is_disposed_fail_and_later_calls_are_refused()
    {
        var scheduler = new MagmaBatchScheduler(_model);
        Task? pending = null;
        var disposeMidway = new Probe(count =>
        {
            if (count == 2)
            {
                // Dispose from inside the step without waiting: the stop is requested before the step ends (CancelAsync
                // sets the token at once), so the loop stops at its next step whatever the machine's speed; awaiting
                // here would wait for the loop itself. A dispose started on another thread raced the 400 tokens on CI.
                pending = scheduler.DisposeAsync().AsTask();
            }
        });
        Task<MagmaResponse> running = scheduler.GenerateAsync(With(BatchedPrefillTests.Mix(_model.UseImageStartEnd)[0], new GenerationOptions { MaxNewTokens = 400, StopTokenIds = [], LogitsProcessors = [disposeMidway] }));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => running);
        await pending!;
        await Assert.ThrowsAsync<ObjectDisposedException>(() => scheduler.GenerateAsync(new MagmaRequest { Turns = MagmaPrompts.Conversation("x") }));

        // The model still answers on its own.
        Assert.NotEmpty((await _model.GenerateAsync(new MagmaRequest { Turns = MagmaPrompts.Conversation("x"), Options = new GenerationOptions { MaxNewTokens = 2 } })).TokenIds);
    }

    /// <summary>A logits processor that changes nothing and calls back with the number of tokens generated before this one.</summary>
    private sealed class Probe(Action<int> onToken) : ILogitsProcessor
    {
        public int Calls { get; private set; }

        public void Process(ReadOnlySpan<int> generated, Span<float> logits)
        {
            Calls++;
            onToken(generated.Length);
        }
    }
}
