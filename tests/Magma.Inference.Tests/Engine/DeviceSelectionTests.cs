using System.Numerics.Tensors;
using Magma.Inference.Generation;
using Magma.Inference.Onnx;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// Greedy choice inside the decoder graph (next_token = argmax(logits + token_bias)): the path the CUDA engine takes
/// to return 8 bytes per step instead of a logits row. On the CPU the same graph output and bindings are used, so these
/// tests pin its behaviour to the host path's.
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class DeviceSelectionTests(TinyMagmaFixture fixture)
{
    private readonly MagmaModel _model = fixture.Model;

    private MagmaEngine Engine => _model.Engine;

    private int[] Ids(string question) => Engine.Tokenize(MagmaPrompts.Conversation(question));

    /// <summary>Runs a request to the end with the engine's own loop; returns the ids and whether the graph chose them.</summary>
    private (List<int> Ids, bool OnDevice, long Steps) Run(int[] ids, GenerationOptions options)
    {
        using RequestRun run = Engine.Start(ids, [], options);
        var generated = new List<int>();
        while (run.MoveNext(CancellationToken.None, out int id, out _))
        {
            generated.Add(id);
        }

        return (generated, run.Loop.ChoosesOnDevice, run.Context.StepTimings.Steps);
    }

    [Fact]
    public void The_tiny_package_declares_the_graph_choice()
    {
        Assert.Equal("next_token", Engine.Package.Manifest.Decoder.NextToken);
        Assert.Equal("token_bias", Engine.Package.Manifest.Decoder.TokenBias);
    }

    [Fact]
    public void Greedy_tokens_chosen_in_the_graph_equal_the_host_argmax()
    {
        int[] ids = Ids("Name three colours of the rainbow.");
        var device = Run(ids, new GenerationOptions { MaxNewTokens = 32, StopTokenIds = [] });
        var host = Run(ids, new GenerationOptions { MaxNewTokens = 32, StopTokenIds = [], LogitsProcessors = [new NoOp()] });

        Assert.True(device.OnDevice);
        Assert.False(host.OnDevice);
        Assert.Equal(32, device.Ids.Count);
        Assert.Equal(host.Ids, device.Ids);
    }

    [Fact]
    public void The_action_constraint_runs_as_a_bias_row_and_its_forced_stop_costs_no_decoder_run()
    {
        int[] ids = Ids("What action should the robot take to pick up the red block?");
        var action = new ActionTokenConstraint(128000, 128009);
        var device = Run(ids, new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action] });
        // The same constraint applied to host logits (a second processor keeps the loop on the host).
        var host = Run(ids, new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action, new NoOp()] });

        Assert.True(device.OnDevice);
        Assert.Equal(host.Ids, device.Ids);
        Assert.Equal(8, device.Ids.Count);
        Assert.All(device.Ids.Take(7), id => Assert.InRange(id, 128000 - 256, 127999));
        Assert.Equal(128009, device.Ids[^1]);
        // 7 action tokens: the first from the prefill, 6 decode steps; EOS is the only allowed token, so it is not run.
        Assert.Equal(6, device.Steps);
        Assert.Equal(7, host.Steps); // with a second processor the loop cannot know EOS is forced, so it runs the step

    }

    [Fact]
    public void An_allowed_token_set_restricts_the_graph_choice_exactly_as_on_the_host()
    {
        int[] ids = Ids("Count from one to ten.");
        var allowed = new AllowedTokensProcessor([13, 220, 1135, 5598, 128009, 9999, 70000]);
        var device = Run(ids, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [], LogitsProcessors = [allowed] });
        var host = Run(ids, new GenerationOptions { MaxNewTokens = 12, StopTokenIds = [], LogitsProcessors = [allowed, new NoOp()] });

        Assert.True(device.OnDevice);
        Assert.Equal(host.Ids, device.Ids);
        Assert.All(device.Ids, id => Assert.Contains(id, new[] { 13, 220, 1135, 5598, 128009, 9999, 70000 }));
    }

    [Fact]
    public void SelectedToken_is_the_argmax_of_the_logits_after_prefill_and_after_each_step()
    {
        int[] ids = Ids("Describe a kitchen.");
        using Inference.Onnx.NativeBuffer embeds = Engine.BuildEmbeddings(ids, [], out int length, out _);
        using DecodeContext context = Engine.Sessions.BeginDecode(length + 6);
        context.Prefill(embeds, length);
        for (int step = 0; step < 5; step++)
        {
            int argmax = TensorPrimitives.IndexOfMax<float>(context.CurrentLogits);
            Assert.Equal(argmax, context.SelectedToken);
            context.Step(argmax);
        }
    }

    [Fact]
    public void Sampling_keeps_the_host_path()
    {
        var sampled = Run(Ids("Hello."), new GenerationOptions { MaxNewTokens = 4, StopTokenIds = [], DoSample = true, Seed = 1 });
        Assert.False(sampled.OnDevice);
        Assert.Equal(4, sampled.Ids.Count);
    }

    private sealed class NoOp : ILogitsProcessor
    {
        public void Process(ReadOnlySpan<int> generated, Span<float> logits)
        {
        }
    }
}
