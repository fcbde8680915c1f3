using System.Text.Json;

namespace Magma.Cli.Tests;

/// <summary>
/// Every CLI test that starts the embedded CPython: one interpreter per process, never two tests at once (the
/// robotics tests' rule).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliPythonTests
{
    public const string Name = "Python (CLI, fake LIBERO)";
}

/// <summary>
/// <c>magma libero-eval</c> against the fake LIBERO of tests/Magma.Plugins.Robotics.Tests (its README: init state i
/// succeeds after 3 + i moves of +x; libero_goal task 2, init state 1 raises a RuntimeError at step 3).
/// </summary>
[Collection(CliPythonTests.Name)]
public sealed class LiberoEvalCommandTests : IDisposable
{
    private readonly string _dir = Cli.TempFolder("magma-libero-eval-");
    private readonly string _moveRight;

    public LiberoEvalCommandTests()
    {
        _moveRight = Path.Combine(_dir, "right.json");
        File.WriteAllText(_moveRight, "[[1, 0, 0, 0, 0, 0, -1]]");
    }

    private static string FakeLibero => Path.Combine(AppContext.BaseDirectory, "fake_libero");

    private string Out => Path.Combine(_dir, "eval");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Args(params string[] more) =>
        ["libero-eval", "--policy", "replay", "--actions", _moveRight, "--suite", "libero_goal", "--libero-path", FakeLibero, "--no-video", "--out", Out, .. more];

    [Fact]
    public async Task Replay_on_two_tasks_reports_successes_errors_and_every_episode_as_json()
    {
        CliRun run = await Cli.RunAsync(Args("--tasks", "0", "2", "--trials", "2", "--json"));

        Assert.Equal(0, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal(4, root.GetProperty("total").GetInt32());
        Assert.Equal(0, root.GetProperty("resumed").GetInt32());
        Assert.False(root.GetProperty("cancelled").GetBoolean());
        Assert.Equal(0.75, root.GetProperty("success_rate").GetDouble());
        Assert.Equal([1.0, 0.5], root.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("success_rate").GetDouble()));
        JsonElement failed = root.GetProperty("episodes").EnumerateArray().Single(e => !e.GetProperty("success").GetBoolean());
        Assert.Equal((2, 1, "RuntimeError"), (failed.GetProperty("task_id").GetInt32(), failed.GetProperty("trial").GetInt32(), failed.GetProperty("error_type").GetString()));
        Assert.Contains("[4/4] libero_goal task", run.Err, StringComparison.Ordinal);
        Assert.Contains("| libero_goal | 4 | 3 | 75.0% |", await File.ReadAllTextAsync(Path.Combine(Out, "report.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rerun_with_the_same_out_resumes_and_runs_only_the_unfinished_episodes()
    {
        CliRun first = await Cli.RunAsync(Args("--tasks", "0", "1", "--trials", "1"));
        CliRun second = await Cli.RunAsync(Args("--tasks", "0", "1", "--trials", "2"));

        Assert.Equal((0, 0), (first.ExitCode, second.ExitCode));
        Assert.Contains("resuming: 2 of 4 episodes already finished", second.Err, StringComparison.Ordinal);
        // Only trial 1 of each task ran the second time.
        string[] ran = [.. second.Err.Split('\n').Where(l => l.Contains(" trial ", StringComparison.Ordinal))];
        Assert.Equal(2, ran.Length);
        Assert.All(ran, l => Assert.Contains("trial 1: success", l, StringComparison.Ordinal));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(Out, "episodes.jsonl")).Length);
        Assert.Contains("LIBERO: 4 of 4 episodes (2 from an earlier run)", second.Out, StringComparison.Ordinal);
        Assert.Contains(second.Out.Split('\n'), l => l.StartsWith("│ libero_goal │ all  │", StringComparison.Ordinal) && l.Contains("100.0%", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ctrl_c_keeps_the_finished_episodes_for_a_resume_and_exits_130()
    {
        CliRun run = await Cli.RunAndCancelOnAsync("[1/3]", Args("--tasks", "0", "--trials", "3", "--json"));

        Assert.Equal(130, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        Assert.True(doc.RootElement.GetProperty("cancelled").GetBoolean());
        Assert.Equal(0, Assert.Single(doc.RootElement.GetProperty("episodes").EnumerateArray().ToArray()).GetProperty("trial").GetInt32());
        Assert.Single(File.ReadAllLines(Path.Combine(Out, "episodes.jsonl")));
        Assert.Contains("run the same command again to resume", run.Err, StringComparison.Ordinal);

        CliRun resumed = await Cli.RunAsync(Args("--tasks", "0", "--trials", "3", "--json"));
        Assert.Equal(0, resumed.ExitCode);
        using JsonDocument all = JsonDocument.Parse(resumed.Out);
        Assert.Equal(1, all.RootElement.GetProperty("resumed").GetInt32());
        Assert.Equal(3, all.RootElement.GetProperty("episodes").GetArrayLength());
    }

    [Fact]
    public async Task Package_without_dataset_statistics_exits_1_before_python_starts()
    {
        string package = Cli.CopyTinyModel();
        File.Delete(Path.Combine(package, "dataset_statistics.json"));
        CliRun run = await Cli.RunAsync("libero-eval", "--model", package, "--suite", "libero_goal", "--out", Out);
        Directory.Delete(package, recursive: true);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("magma: invalid model package: ", run.Err, StringComparison.Ordinal);
        Assert.Contains("dataset_statistics.json", run.Err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Out));
    }

    [Fact]
    public async Task The_repositorys_tiny_package_runs_as_a_magma_policy_straight_from_the_clone()
    {
        CliRun run = await Cli.RunAsync(
            "libero-eval", "--model", Cli.RepositoryTinyModel, "--suite", "libero_goal", "--tasks", "0", "--trials", "1", "--max-steps", "2",
            "--libero-path", FakeLibero, "--no-video", "--out", Out, "--json");

        Assert.True(run.ExitCode == 0, run.Err);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement episode = Assert.Single(doc.RootElement.GetProperty("episodes").EnumerateArray().ToArray());
        Assert.Equal(2, episode.GetProperty("steps").GetInt32());
        Assert.Equal(JsonValueKind.Null, episode.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Task_ids_the_suite_does_not_have_exit_1_naming_them()
    {
        CliRun run = await Cli.RunAsync(Args("--tasks", "0", "5", "--trials", "1"));

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("magma: task id 5 is not in libero_goal, which has 3 tasks (ids 0..2)", run.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Out, "episodes.jsonl")));
    }

    [Theory]
    [InlineData("--policy replay takes --actions <file> and no --model.", "libero-eval", "--policy", "replay", "--suite", "libero_goal", "--out", "x")]
    [InlineData("Give --model <package> (the Magma policy) or --policy replay --actions <file>.", "libero-eval", "--suite", "libero_goal", "--out", "x")]
    [InlineData("libero_gaol", "libero-eval", "--model", "m", "--suite", "libero_gaol", "--out", "x")]
    [InlineData("--trials must be at least 1.", "libero-eval", "--model", "m", "--suite", "libero_goal", "--trials", "0", "--out", "x")]
    public async Task Bad_arguments_are_usage_errors(string message, params string[] args)
    {
        CliRun run = await Cli.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Err, StringComparison.Ordinal);
    }
}
