using Spectre.Console;
using Spectre.Console.Rendering;

namespace Magma.Cli;

/// <summary>
/// Progress and tables for long commands: a Spectre.Console progress bar when stdout is the terminal, plain
/// <c>[done/total] line</c> progress on stderr otherwise (logs, pipes, tests), so scripts never see control codes.
/// </summary>
internal static class CliConsole
{
    /// <summary>Whether <paramref name="output"/> is the process's own stdout and that is a terminal.</summary>
    public static bool IsTerminal(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>
    /// Runs <paramref name="body"/> with a progress callback <c>(completed, total, line)</c>: a live bar on a terminal
    /// (unless <paramref name="json"/>), else one line per call on <paramref name="error"/>. Calls must not overlap.
    /// </summary>
    public static async Task<T> WithProgressAsync<T>(TextWriter output, TextWriter error, bool json, string title, Func<Action<int, int, string>, Task<T>> body)
    {
        if (json || !IsTerminal(output))
        {
            return await body((completed, total, line) => error.WriteLine($"[{completed}/{total}] {line}")).ConfigureAwait(false);
        }

        return await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                ProgressTask task = context.AddTask(Markup.Escape(title), maxValue: 1);
                T result = await body((completed, total, line) =>
                {
                    task.MaxValue = Math.Max(1, total);
                    task.Value = completed;
                    task.Description = Markup.Escape($"{title}: {line}");
                }).ConfigureAwait(false);
                task.Description = Markup.Escape(title);
                task.StopTask();
                return result;
            }).ConfigureAwait(false);
    }

    /// <summary>Writes a table: with colours on a terminal, plain box drawing otherwise (wide enough not to wrap).</summary>
    public static void Write(TextWriter output, IRenderable renderable)
    {
        if (IsTerminal(output))
        {
            AnsiConsole.Write(renderable);
            return;
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        console.Write(renderable);
    }

    /// <summary>A table with right-aligned columns after the first <paramref name="leftColumns"/>.</summary>
    public static Table Table(int leftColumns, params string[] headers)
    {
        var table = new Table { Border = TableBorder.Rounded };
        for (int i = 0; i < headers.Length; i++)
        {
            table.AddColumn(new TableColumn(Markup.Escape(headers[i])) { Alignment = i < leftColumns ? Justify.Left : Justify.Right });
        }

        return table;
    }

    /// <summary>Adds a row of plain (escaped) cells.</summary>
    public static void AddRow(this Table table, IEnumerable<string> cells) => table.AddRow([.. cells.Select(c => new Text(c))]);
}
