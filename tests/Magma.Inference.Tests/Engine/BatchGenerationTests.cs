using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary><see cref="MagmaModel.GenerateBatchAsync"/>: N requests decoded together give what each gives alone.</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class BatchGenerationTests(TinyMagmaFixture fixture)
{
    private readonly MagmaModel _model = fixture.Model;

    private static MagmaRequest Text(string question, GenerationOptions options) =>
        new() { Turns = MagmaPrompts.Conversation(question), Options = options };

    private async Task AssertSameAsAlone(MagmaRequest[] requests)
    {
        IReadOnlyList<MagmaResponse> batch = await _model.GenerateBatchAsync(requests);
        Assert.Equal(requests.Length, batch.Count);
        for (int i = 0; i < requests.Length; i++)
        {
            MagmaResponse alone = await _model.GenerateAsync(requests[i]);
            Assert.Equal(alone.TokenIds, batch[i].TokenIds);
            Assert.Equal(alone.Text, batch[i].Text);
            Assert.Equal(alone.FinishReason, batch[i].FinishReason);
            Assert.Equal(alone.Usage, batch[i].Usage);
        }
    }

    [Fact]
    public async Task Greedy_prompts_of_different_lengths_decode_as_they_do_alone()
    {
        var options = new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [] };
        await AssertSameAsAlone([
            Text("Hi.", options),
            Text("Describe the kitchen in detail, then list every object on the counter.", options),
            Text("What is two plus two?", options),
        ]);
    }

    [Fact]
    public async Task Robot_actions_for_several_frames_share_the_constraint_and_stop_after_seven_tokens()
    {
        using var index = TinyMagma.Index();
        RgbImage[] frames = [TinyMagma.Image(index.RootElement, "square_256x256"), TinyMagma.Image(index.RootElement, "tall_400x900"), TinyMagma.Image(index.RootElement, "wide_900x400")];
        var options = new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [new ActionTokenConstraint(128000, 128009)] };
        MagmaRequest[] requests = [.. frames.Select((f, i) => new MagmaRequest
        {
            Images = [f],
            Turns = MagmaPrompts.Conversation(MagmaPrompts.RobotAction(i == 0 ? "open the drawer" : "put the bowl on the plate", _model.UseImageStartEnd)),
            Options = options,
        })];

        IReadOnlyList<MagmaResponse> batch = await _model.GenerateBatchAsync(requests);
        Assert.All(batch, r =>
        {
            Assert.Equal(8, r.TokenIds.Count);
            Assert.Equal(128009, r.TokenIds[^1]);
            Assert.Equal(FinishReason.StopToken, r.FinishReason);
        });
        await AssertSameAsAlone(requests);
    }

    [Fact]
    public async Task Each_request_keeps_its_own_options()
    {
        await AssertSameAsAlone([
            Text("Tell me a story.", new GenerationOptions { MaxNewTokens = 5, StopTokenIds = [] }),
            Text("Tell me a story.", new GenerationOptions { MaxNewTokens = 9, StopTokenIds = [], DoSample = true, Temperature = 0.8f, Seed = 42 }),
            Text("Name a colour.", new GenerationOptions { MaxNewTokens = 7, LogitsProcessors = [new AllowedTokensProcessor([13, 220, 5598, 128009])] }),
        ]);
    }

    [Fact]
    public async Task Stop_strings_end_a_batched_request_where_they_end_it_alone()
    {
        // The tiny model's answers are random text: the stop string is cut from the middle of an answer run alone.
        var free = new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [] };
        MagmaRequest plain = Text("Tell me a story.", free);
        string text = (await _model.GenerateAsync(plain)).Text;
        Assert.True(text.Length >= 8, $"the tiny model's answer '{text}' is too short to cut a stop string from");
        var stopping = new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [], StopStrings = [text.Substring(text.Length / 2, 2), "never in the text \u0001"] };

        MagmaRequest[] requests = [Text("Tell me a story.", stopping), Text("Hi.", free), Text("Name a colour.", stopping with { MaxNewTokens = 5 })];
        IReadOnlyList<MagmaResponse> batch = await _model.GenerateBatchAsync(requests);
        Assert.Equal(FinishReason.StopString, batch[0].FinishReason);
        Assert.True(batch[0].TokenIds.Count < 16);
        await AssertSameAsAlone(requests);
    }

    [Fact]
    public async Task An_empty_batch_returns_nothing() => Assert.Empty(await _model.GenerateBatchAsync([]));
}
