using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Engine;

/// <summary>Managed allocation of a decode step after warm-up (not a timing test: bytes are deterministic).</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class AllocationTests(TinyMagmaFixture fixture)
{
    private const int WarmSteps = 8;
    private const int MeasuredSteps = 32;

    [Fact]
    public void A_decode_step_allocates_no_managed_memory_after_warm_up()
    {
        MagmaModel model = fixture.Model;
        int[] ids = [.. model.Engine.Tokenize(Magma.Inference.Text.MagmaPrompts.Conversation("hello"))];
        using NativeBuffer embeds = model.Engine.BuildEmbeddings(ids, [], out int length, out _);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(length + 64);
        context.Prefill(embeds, length);
        long allocated = AllocatedByStepsAfterWarmUp(context, WarmSteps, MeasuredSteps);
        Assert.True(model.Engine.Sessions.SharedKv);
        Assert.Equal(length + WarmSteps + MeasuredSteps, context.Position);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_decode_step_after_a_padded_prefill_allocates_no_managed_memory()
    {
        MagmaModel model = fixture.Model;
        int[] ids = [.. model.Engine.Tokenize(Magma.Inference.Text.MagmaPrompts.Conversation("hello there"))];
        int length = model.Engine.CheckPrompt(ids, Array.Empty<Magma.Inference.Imaging.RgbImage>(), out _);
        int width = PrefillBuckets.Width(length - 1, model.Engine.MaxSequence);
        using NativeBuffer embeds = model.Engine.BuildEmbeddings(ids, [], out _, out _, rows: width);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(width + 64);
        context.Prefill(embeds, length, width);
        long allocated = AllocatedByStepsAfterWarmUp(context, WarmSteps, MeasuredSteps);
        Assert.Equal((1, length + WarmSteps + MeasuredSteps), (context.PaddedPrefills, context.Position));
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_batched_decode_step_allocates_no_managed_memory_after_warm_up()
    {
        MagmaModel model = fixture.Model;
        var options = new Magma.Inference.Generation.GenerationOptions { MaxNewTokens = 200, StopTokenIds = [] };
        Magma.Inference.Generation.BatchEntry[] entries = [.. new[] { "hello", "a longer question about the kitchen", "hi" }.Select(q =>
            new Magma.Inference.Generation.BatchEntry(model.Engine.Tokenize(Magma.Inference.Text.MagmaPrompts.Conversation(q)), [], options))];
        using var runner = new Magma.Inference.Generation.BatchRunner(model.Engine, slots: 4, capacity: 512, maxCropsPerVisionRun: 16, maxPrefillPositions: 8192);
        runner.Admit(entries);
        // Past the JIT's tier-up of the step's methods (30 calls), whose bookkeeping allocates on the calling thread.
        const int warmUp = 80;
        for (int i = 0; i < warmUp; i++)
        {
            runner.Step();
        }

        const int steps = 32;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
        {
            runner.Step();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.All(entries, e => Assert.Equal(warmUp + steps, e.Generated.Count));
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Step_timings_count_every_step_and_runs_fit_inside_the_step()
    {
        MagmaModel model = fixture.Model;
        int[] ids = [.. model.Engine.Tokenize(Magma.Inference.Text.MagmaPrompts.Conversation("hi"))];
        using NativeBuffer embeds = model.Engine.BuildEmbeddings(ids, [], out int length, out _);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(length + 4);
        context.Prefill(embeds, length);
        Assert.Equal(0, context.StepTimings.Steps);
        for (int i = 0; i < 4; i++)
        {
            context.Step(300 + i);
        }

        (long steps, long total, long runs) = context.StepTimings;
        Assert.Equal(4, steps);
        Assert.InRange(runs, 1, total);
    }

    /// <summary>Managed bytes allocated by <paramref name="measured"/> decode steps, after <paramref name="warm"/> unmeasured ones.</summary>
    private static long AllocatedByStepsAfterWarmUp(DecodeContext context, int warm, int measured)
    {
        for (int i = 0; i < warm; i++)
        {
            context.Step(100 + i);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < measured; i++)
        {
            context.Step(200 + i);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
