using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Engine;

/// <summary>Managed allocation of a decode step after warm-up (not a timing test: bytes are deterministic).</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class AllocationTests(TinyMagmaFixture fixture)
{
    [Fact]
    public void A_decode_step_allocates_only_binding_bookkeeping_not_cache_or_logits_buffers()
    {
        MagmaModel model = fixture.Model;
        int[] ids = [.. model.Engine.Tokenize(Magma.Inference.Text.MagmaPrompts.Conversation("hello"))];
        using NativeBuffer embeds = model.Engine.BuildEmbeddings(ids, [], out int length, out _);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(length + 64);
        context.Prefill(embeds, length);
        for (int i = 0; i < 8; i++)
        {
            context.Step(100 + i);
        }

        const int steps = 32;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
        {
            context.Step(200 + i);
        }

        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        // One logits row alone is 128263 floats (~500 KB); a cache-sized buffer is larger still. What remains is
        // ORT's UTF-8 name marshalling on rebinding and, for this Concat-style decoder, the ping-pong views.
        Assert.True(perStep < 8 * 1024, $"a decode step allocated {perStep} bytes");
    }
}
