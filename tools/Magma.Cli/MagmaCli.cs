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
        var root = new Command("magma", "Run Microsoft's Magma-8B multimodal model locally on ONNX Runtime: chat, ground UI instructions, evaluate web and robot agents.");
        root.Options.Add(CliHelp.CreateOption());
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ChatCommand.Create());
        root.Subcommands.Add(GroundCommand.Create());
        root.Subcommands.Add(WebEvalCommand.Create());
        root.Subcommands.Add(LiberoEvalCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        CliHelp.SetEpilogue(root, """
            Examples:
              magma inspect ./magma-8b-onnx
              magma chat -m ./magma-8b-onnx --image photo.jpg "What is in the picture?"
              magma ground -m ./magma-8b-onnx --url https://example.com --out marked.png "the More information link"
              magma web-eval --policy oracle --suite tests/assets/web
              magma bench -m ./magma-8b-onnx --device cuda

            Run 'magma <command> --help' for a command's options, examples and exit codes.
            Exit codes: 0 success, 1 error (package, input file, page, Python, device), 2 usage, 3 unparseable model answer, 130 cancelled (Ctrl+C).
            """);
        return root;
    }

    /// <summary>Parses and runs a command line, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    /// <returns>The process exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        Command root = Build();
        if (args.Length == 0)
        {
            // As dotnet does: no command is a usage error, answered with the usage itself (on stderr, like every
            // diagnostic, so stdout stays empty for scripts).
            await root.Parse(["--help"]).InvokeAsync(new InvocationConfiguration { Output = error, Error = error }, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        ParseResult parsed = root.Parse(args);
        // --help answers even when the rest of the line is incomplete (a command's own validators still report then).
        if (parsed.Errors.Count > 0 && !CliHelp.IsHelp(parsed))
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
