using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Evaluation;

namespace Magma.Plugins.Web.Tests;

public sealed class HarnessTests
{
    [Fact]
    public async Task Oracle_through_marks_solves_every_task_of_the_suite()
    {
        var source = new SuiteSource(Pages.Folder);
        var runner = new TaskRunner(source, (start, _) => new OraclePolicy(start.Oracle!));
        await using WebSession session = await WebSession.LaunchAsync(source.SessionOptions);
        var results = new List<EpisodeResult>();
        foreach (string task in source.Tasks)
        {
            results.Add(await runner.RunAsync(session, task, 0));
        }

        Assert.Equal(SuiteSource.DefaultTasks.Length, results.Count);
        Assert.All(results, r => Assert.True(r.Success && r.Stale == 0 && r.Invalid == 0, $"{r.Task}: reward {r.Reward}, stale {r.Stale}, invalid {r.Invalid}"));
        string report = TaskRunner.Report("oracle", results);
        Assert.Contains("| **all** | 8 | 100% |", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Random_marks_run_to_the_step_cap_and_are_reported()
    {
        var source = new SuiteSource(Pages.Folder, ["form", "menu"]);
        var runner = new TaskRunner(source, (_, seed) => new RandomPolicy(seed), maxSteps: 3);
        await using WebSession session = await WebSession.LaunchAsync(source.SessionOptions);
        EpisodeResult r = await runner.RunAsync(session, "menu", 1);
        Assert.InRange(r.Steps, 1, 3);
        Assert.Equal(r.Steps, r.ObserveMs.Count);
        Assert.Contains("| menu | 1 |", TaskRunner.Report("random", [r]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("click-button", "Click on the \"Okay\" button.", "click:Okay:button:")]
    [InlineData("enter-text", "Enter \"Kasie\" into the text field and press Submit.", "type::textbox:Kasie|click:Submit::")]
    [InlineData("click-checkboxes", "Select k6tx, Ok5 and click Submit.", "click:k6tx:checkbox:|click:Ok5:checkbox:|click:Submit::")]
    [InlineData("click-checkboxes", "Select nothing and click Submit.", "click:Submit::")]
    public void MiniWob_oracles_are_read_from_the_utterance(string task, string goal, string expected)
    {
        var steps = MiniWobSource.Oracle(task, goal)!;
        Assert.Equal(expected, string.Join("|", steps.Select(s => $"{s.Do}:{s.Name}:{s.Role}:{s.Value}")));
    }
}
