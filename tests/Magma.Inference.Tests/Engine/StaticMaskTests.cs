using Magma.Inference.Generation;
using Magma.Inference.Onnx;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// Decode steps bind a static [1,capacity] attention mask (ones for the valid prefix, zeros after) once per request.
/// GQA must then compute exactly what it computes for a [1,P+1] mask of ones: checked against a prefill of the whole
/// sequence, which binds the dynamic mask, and against itself after a rewind.
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class StaticMaskTests(TinyMagmaFixture fixture)
{
    private const double Tolerance = 1e-4;
    private readonly MagmaEngine _engine = fixture.Model.Engine;

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Steps_under_a_capacity_wide_mask_give_the_logits_of_a_prefill_over_the_whole_sequence(int extra)
    {
        int[] prompt = _engine.Tokenize(MagmaPrompts.Conversation("Describe the weather in one word."));
        int[] continuation = [.. Enumerable.Range(0, extra).Select(i => 1000 + (37 * i))];
        int[] all = [.. prompt, .. continuation];

        using NativeBuffer promptEmbeds = _engine.BuildEmbeddings(prompt, [], out int promptLength, out _);
        // Capacity well beyond the sequence, so the step mask has a long zero tail.
        using DecodeContext stepped = _engine.Sessions.BeginDecode(promptLength + extra + 40);
        stepped.Prefill(promptEmbeds, promptLength);
        foreach (int id in continuation)
        {
            stepped.Step(id);
        }

        using NativeBuffer allEmbeds = _engine.BuildEmbeddings(all, [], out int allLength, out _);
        using DecodeContext reference = _engine.Sessions.BeginDecode(allLength);
        reference.Prefill(allEmbeds, allLength);

        Assert.Equal(allLength, stepped.Position);
        double err = TinyMagma.RelativeError(stepped.CurrentLogits, reference.CurrentLogits);
        Assert.True(err < Tolerance, $"step logits differ from the full-sequence prefill by {err:E2} (relative)");
        Assert.Equal(IndexOfMax(reference.CurrentLogits), IndexOfMax(stepped.CurrentLogits));
    }

    [Fact]
    public void Rewinding_and_replaying_steps_reproduces_the_same_logits()
    {
        int[] prompt = _engine.Tokenize(MagmaPrompts.Conversation("Count to three."));
        using NativeBuffer embeds = _engine.BuildEmbeddings(prompt, [], out int length, out _);
        using DecodeContext context = _engine.Sessions.BeginDecode(length + 8);
        context.Prefill(embeds, length);
        context.Step(500);
        context.Step(501);
        float[] first = context.CurrentLogits.ToArray();

        context.Step(9999);
        context.Rewind(length);
        context.Step(500);
        context.Step(501);

        Assert.Equal(length + 2, context.Position);
        Assert.Equal(first, context.CurrentLogits.ToArray());
    }

    private static int IndexOfMax(ReadOnlySpan<float> values) => System.Numerics.Tensors.TensorPrimitives.IndexOfMax(values);
}
