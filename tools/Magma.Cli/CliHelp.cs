using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace Magma.Cli;

/// <summary>
/// Help with an epilogue: System.CommandLine prints a command's description both in its own help and in the root's
/// command list, so descriptions stay one line and the examples and exit codes go after the options, as
/// <c>dotnet &lt;command&gt; --help</c> lays them out.
/// </summary>
internal static class CliHelp
{
    private static readonly ConditionalWeakTable<Command, string> Epilogues = [];

    /// <summary>Text printed after the options in <paramref name="command"/>'s help.</summary>
    public static void SetEpilogue(Command command, string text) => Epilogues.AddOrUpdate(command, text);

    /// <summary>Whether the parse asks for help (<c>-h</c>, <c>--help</c>, <c>-?</c>).</summary>
    public static bool IsHelp(ParseResult parse) => parse.Action is EpilogueHelpAction;

    /// <summary>The help option, printing the epilogue of the command it is asked for.</summary>
    public static HelpOption CreateOption()
    {
        var option = new HelpOption();
        option.Action = new EpilogueHelpAction((HelpAction)option.Action!);
        return option;
    }

    private sealed class EpilogueHelpAction(HelpAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = inner.Invoke(parseResult);
            if (Epilogues.TryGetValue(parseResult.CommandResult.Command, out string? text))
            {
                parseResult.InvocationConfiguration.Output.WriteLine(text.TrimEnd());
                parseResult.InvocationConfiguration.Output.WriteLine();
            }

            return code;
        }
    }
}
