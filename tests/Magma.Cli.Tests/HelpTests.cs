namespace Magma.Cli.Tests;

public sealed class HelpTests
{
    private static readonly string[] Commands = ["inspect", "chat", "ground", "web-eval", "libero-eval", "bench"];

    [Fact]
    public async Task Bare_magma_prints_the_usage_on_stderr_and_exits_2()
    {
        CliRun run = await Cli.RunAsync();

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Out);
        Assert.Contains("Usage:", run.Err, StringComparison.Ordinal);
        Assert.All(Commands, c => Assert.Contains($"  {c}", run.Err, StringComparison.Ordinal));
        Assert.Contains("Run 'magma <command> --help'", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Root_help_lists_every_command_with_a_one_line_summary_and_examples()
    {
        CliRun run = await Cli.RunAsync("--help");

        Assert.Equal(0, run.ExitCode);
        string[] lines = run.Out.Split('\n');
        foreach (string c in Commands.Except(["chat"]))
        {
            // The summary fits on the command's own line; the next line is the next command (or the section's end).
            int i = Array.FindIndex(lines, l => l.StartsWith($"  {c} ", StringComparison.Ordinal));
            Assert.True(i > 0, c);
            Assert.False(lines[i + 1].StartsWith("     ", StringComparison.Ordinal), $"{c}: {lines[i + 1]}");
        }

        Assert.Contains("Examples:", run.Out, StringComparison.Ordinal);
        Assert.Contains("Exit codes: 0 success", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ground")]
    [InlineData("web-eval")]
    [InlineData("libero-eval")]
    [InlineData("bench")]
    [InlineData("inspect")]
    public async Task Command_help_ends_with_examples_and_exit_codes_even_when_the_line_is_incomplete(string command)
    {
        CliRun run = await Cli.RunAsync(command, "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Err);
        Assert.Contains($"magma {command}", run.Out, StringComparison.Ordinal);
        int options = run.Out.IndexOf("Options:", StringComparison.Ordinal);
        int examples = run.Out.IndexOf("Examples:", StringComparison.Ordinal);
        int exitCodes = run.Out.IndexOf("Exit codes:", StringComparison.Ordinal);
        Assert.True(options > 0 && examples > options && exitCodes > examples, run.Out);
    }
}
