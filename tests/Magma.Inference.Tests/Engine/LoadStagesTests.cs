using Magma.Inference.Generation;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary><see cref="MagmaModel.LoadTime"/> and <see cref="MagmaModel.LoadStages"/>: where a load's time goes.</summary>
public sealed class LoadStagesTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Load_reports_each_session_and_the_whole_time(bool parallel)
    {
        using MagmaModel model = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, ParallelLoad = parallel });

        string[] names = [.. model.LoadStages.Select(s => s.Name)];
        Assert.Equal(["session decoder", "session embed", "session vision"], names.OrderBy(n => n, StringComparer.Ordinal).ToArray());
        // The text sessions are made in order on one thread, whatever the vision session does beside them.
        Assert.True(Array.IndexOf(names, "session embed") < Array.IndexOf(names, "session decoder"));
        Assert.All(model.LoadStages, s =>
        {
            Assert.True(s.Elapsed > TimeSpan.Zero, s.Name);
            Assert.True(s.Elapsed <= model.LoadTime, s.Name);
            Assert.Null(s.DeviceBytesInUse); // CPU: no device memory to report
        });
    }

    [Fact]
    public async Task Loads_made_side_by_side_or_in_order_answer_alike()
    {
        var options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] };
        var request = new MagmaRequest { Turns = MagmaPrompts.Conversation("Name a colour."), Options = options };
        using MagmaModel parallel = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, ParallelLoad = true });
        using MagmaModel serial = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, ParallelLoad = false });

        MagmaResponse a = await parallel.GenerateAsync(request);
        MagmaResponse b = await serial.GenerateAsync(request);

        Assert.Equal(6, a.TokenIds.Count);
        Assert.Equal(b.TokenIds, a.TokenIds);
    }

    [Fact]
    public void WarmUp_logs_the_prefill_and_each_decode_step_of_both_runs()
    {
        using MagmaModel model = TinyMagma.Load();
        int before = model.Engine.Load.Stages.Count;

        model.Engine.WarmUp();

        string[] added = [.. model.Engine.Load.Stages.Skip(before).Select(s => s.Name)];
        Assert.Equal(
            ["warm-up greedy prefill", "warm-up greedy step 1", "warm-up greedy step 2", "warm-up greedy step 3", "warm-up greedy step 4",
             "warm-up greedy step 5", "warm-up sampled prefill", "warm-up sampled step 1", "warm-up sampled step 2"],
            added);
    }
}
