using System.CommandLine;
using Magma.Cli.Commands;

namespace Magma.Cli;

/// <summary>
/// The <c>magma</c> command tree. Tests call <see cref="RunAsync"/> with their own writers, so every command runs
/// in-process exactly as the tool does.
/// </summary>
internal static class MagmaCli
{
    /// <summary>Builds the root command with all subcommands.</summary>
    public static Command Build()
    {
        // A plain command named "magma" rather than RootCommand, whose name is the host process's ("dotnet",
        // "testhost"): help must read "magma chat ..." however the tool is started.
        var root = new Command("magma",
            "magma: run Microsoft's Magma-8B multimodal model locally on ONNX Runtime.\n" +
            "Exit codes: 0 success, 1 error (package, input file, device), 2 usage, 3 unparseable model answer, 130 cancelled.");
        root.Options.Add(new System.CommandLine.Help.HelpOption());
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(GroundCommand.Create());
        root.Subcommands.Add(WebEvalCommand.Create());
        root.Subcommands.Add(LiberoEvalCommand.Create());
        return root;
    }

    /// <summary>Parses and runs a command line, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    /// <returns>The process exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        Command root = Build();
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Usage errors are short and actionable; the full help is one --help away (as dotnet itself does).
            foreach (System.CommandLine.Parsing.ParseError e in parsed.Errors)
            {
                await error.WriteLineAsync($"magma: {e.Message}").ConfigureAwait(false);
            }

            string command = parsed.CommandResult.Command == root ? "magma" : $"magma {parsed.CommandResult.Command.Name}";
            await error.WriteLineAsync($"Run '{command} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var config = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Program.cs owns Ctrl+C (it cancels the token); System.CommandLine's own handler would race it.
            ProcessTerminationTimeout = null,
        };
        return await parsed.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
    }
}
