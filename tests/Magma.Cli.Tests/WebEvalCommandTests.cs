using System.Text.Json;

namespace Magma.Cli.Tests;

public sealed class WebEvalCommandTests
{
    [Fact]
    public async Task Oracle_on_two_suite_tasks_succeeds_and_writes_json_and_markdown_reports()
    {
        string dir = Cli.TempFolder("magma-web-eval-");
        try
        {
            CliRun run = await Cli.RunAsync("web-eval", "--policy", "oracle", "--suite", Cli.WebPages, "--tasks", "form,menu", "--out", dir, "--json");

            Assert.Equal(0, run.ExitCode);
            using JsonDocument doc = JsonDocument.Parse(run.Out);
            JsonElement root = doc.RootElement;
            Assert.Equal("oracle", root.GetProperty("policy").GetString());
            Assert.False(root.GetProperty("cancelled").GetBoolean());
            Assert.Equal(1.0, root.GetProperty("all").GetProperty("success_rate").GetDouble());
            Assert.Equal(["form", "menu"], root.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("task").GetString()));
            Assert.Equal(2, root.GetProperty("episodes").GetArrayLength());
            // Plain progress lines on stderr (not a terminal), one per episode plus the start line.
            Assert.Contains("[2/2] menu seed 0: success", run.Err, StringComparison.Ordinal);
            Assert.Contains("| **all** | 2 | 100% |", await File.ReadAllTextAsync(Path.Combine(dir, "report.md")), StringComparison.Ordinal);
            using JsonDocument saved = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "results.json")));
            Assert.Equal(2, saved.RootElement.GetProperty("episodes").GetArrayLength());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Text_output_is_a_table_per_task_with_an_all_row()
    {
        string dir = Cli.TempFolder("magma-web-eval-");
        try
        {
            CliRun run = await Cli.RunAsync("web-eval", "--policy", "random", "--suite", Cli.WebPages, "--tasks", "menu", "--seeds", "2", "--steps", "2", "--out", dir);

            Assert.Equal(0, run.ExitCode);
            string[] lines = run.Out.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("│ menu │        2 │", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("│ all  │        2 │", StringComparison.Ordinal));
            Assert.Contains($"Report   {Path.Combine(dir, "report.md")}", run.Out, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Ctrl_c_after_the_first_episode_keeps_it_in_the_report_and_exits_130()
    {
        string dir = Cli.TempFolder("magma-web-eval-");
        try
        {
            CliRun run = await Cli.RunAndCancelOnAsync("[1/3]", "web-eval", "--policy", "oracle", "--suite", Cli.WebPages, "--tasks", "menu,dialog,form", "--out", dir, "--json");

            Assert.Equal(130, run.ExitCode);
            using JsonDocument doc = JsonDocument.Parse(run.Out);
            Assert.True(doc.RootElement.GetProperty("cancelled").GetBoolean());
            Assert.Equal(3, doc.RootElement.GetProperty("total").GetInt32());
            Assert.Equal("menu", doc.RootElement.GetProperty("episodes").EnumerateArray().Single().GetProperty("task").GetString());
            Assert.Contains("magma: cancelled; 1 of 3 episodes finished", run.Err, StringComparison.Ordinal);
            Assert.Contains("| menu | 1 | 100% |", await File.ReadAllTextAsync(Path.Combine(dir, "report.md")), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("Give --model <package> (the Magma policy) or --policy oracle|random.", "web-eval", "--suite", "x")]
    [InlineData("--policy oracle does not use a model", "web-eval", "--policy", "oracle", "--model", "x", "--suite", "x")]
    [InlineData("Give exactly one of --suite <folder> or --miniwob <checkout>.", "web-eval", "--policy", "random")]
    [InlineData("--seeds must be at least 1.", "web-eval", "--policy", "random", "--suite", "x", "--seeds", "0")]
    public async Task Bad_combinations_are_usage_errors(string message, params string[] args)
    {
        CliRun run = await Cli.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_that_is_not_a_miniwob_checkout_exits_1_saying_so()
    {
        CliRun run = await Cli.RunAsync("web-eval", "--policy", "oracle", "--miniwob", Cli.WebPages);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("is not a MiniWoB++ checkout", run.Err, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }

    [Fact]
    public async Task Unknown_task_exits_1_listing_the_suite_pages()
    {
        CliRun run = await Cli.RunAsync("web-eval", "--policy", "oracle", "--suite", Cli.WebPages, "--tasks", "nope");

        Assert.Equal(1, run.ExitCode);
        // The suite's pages in order; the list grows with tests/assets/web, so only its start and two members are pinned.
        Assert.Contains("has no page for task(s) nope; it has: ", run.Err, StringComparison.Ordinal);
        Assert.Contains("dialog, ", run.Err, StringComparison.Ordinal);
        Assert.Contains("form, ", run.Err, StringComparison.Ordinal);
    }
}
