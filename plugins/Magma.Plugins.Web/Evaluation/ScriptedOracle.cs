using System.Globalization;
using System.Text.RegularExpressions;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Marks;

namespace Magma.Plugins.Web.Evaluation;

/// <summary>
/// A scripted oracle written as a coroutine: the script yields one decision at a time and, when resumed, reads the
/// observation taken after that decision was acted on (<see cref="OracleView.Obs"/>). It sees what a policy sees — the
/// marks and the page's visible text — and acts only through marks, so its success measures the plugin, not the script.
/// </summary>
public sealed class ScriptedOracle : IWebPolicy
{
    private readonly OracleView _view = new();
    private readonly IEnumerator<WebDecision> _steps;

    /// <summary>Starts the script; it runs up to its first decision at the first observation.</summary>
    /// <param name="script">The task's script, given the view it reads observations through.</param>
    public ScriptedOracle(Func<OracleView, IEnumerable<WebDecision>> script)
    {
        ArgumentNullException.ThrowIfNull(script);
        _steps = script(_view).GetEnumerator();
    }

    /// <inheritdoc/>
    public Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default)
    {
        _view.Obs = observation;
        _view.Goal = goal;
        return Task.FromResult(_steps.MoveNext() ? _steps.Current : new WebDecision { Kind = WebDecisionKind.Done });
    }
}

/// <summary>What a <see cref="ScriptedOracle"/>'s script reads (the current observation) and the decisions it builds.</summary>
public sealed class OracleView
{
    /// <summary>The observation taken after the last decision.</summary>
    public WebObservation Obs { get; internal set; } = null!;

    /// <summary>The task's goal.</summary>
    public string Goal { get; internal set; } = "";

    /// <summary>
    /// The visible text below the goal: a page that shows its goal (MiniWoB's query bar) would otherwise answer a search
    /// for a word of the goal with the goal itself. The goal's runs are the leading runs that spell it; when they do not, all text is returned.
    /// </summary>
    public IEnumerable<WebText> PageTexts
    {
        get
        {
            // Runs are consumed while they spell the goal's beginning (spaces aside), up to the whole goal.
            string goal = string.Concat(Goal.Where(c => !char.IsWhiteSpace(c)));
            string read = "";
            for (int i = 0; i < Obs.Texts.Count; i++)
            {
                read += string.Concat(Obs.Texts[i].Text.Where(c => !char.IsWhiteSpace(c)));
                if (!goal.StartsWith(read, StringComparison.Ordinal))
                {
                    return Obs.Texts;
                }

                if (read.Length >= goal.Length)
                {
                    return Obs.Texts.Skip(i + 1);
                }
            }

            return Obs.Texts;
        }
    }

    /// <summary>The first mark (in mark order) with this name and role: exact, case-insensitive; a <c>/regex/</c> name matches by pattern.</summary>
    public WebMark? Mark(string name, string? role = null) => Marks(name, role).FirstOrDefault();

    /// <summary>Every mark with this name (see <see cref="Mark"/>) and role; an empty name matches all.</summary>
    public IEnumerable<WebMark> Marks(string name, string? role = null) =>
        Obs.Marks.Where(m => (role is null || m.Role == role) && NameMatches(m.Name, name));

    /// <summary>The visible text runs below the goal that match (exact, case-insensitive; <c>/regex/</c> by pattern), in document order.</summary>
    public IEnumerable<WebText> Texts(string text) => PageTexts.Where(t => NameMatches(t.Text, text));

    /// <summary>The first visible text run that matches, or null.</summary>
    public WebText? Text(string text) => Texts(text).FirstOrDefault();

    /// <summary>True when a box's vertical centre lies within the other's vertical extent (one line of a table or form).</summary>
    public static bool SameRow(MarkBox a, MarkBox b) => a.Y + (a.Height / 2) >= b.Y - 2 && a.Y + (a.Height / 2) <= b.Bottom + 2;

    /// <summary>Click a mark; an invalid decision naming what was missing when it is null.</summary>
    public static WebDecision Click(WebMark? m, string what = "target") => Do(WebDecisionKind.Click, m, what);

    /// <summary>Type text into a mark.</summary>
    public static WebDecision Type(WebMark? m, string text, string what = "field") => Do(WebDecisionKind.Type, m, what, text);

    /// <summary>Set a field's value (dates, colours, ranges).</summary>
    public static WebDecision SetValue(WebMark? m, string value, string what = "field") => Do(WebDecisionKind.SetValue, m, what, value);

    /// <summary>Select an option of a list.</summary>
    public static WebDecision Select(WebMark? m, string option, string what = "list") => Do(WebDecisionKind.Select, m, what, option);

    /// <summary>Move the pointer over a mark.</summary>
    public static WebDecision Hover(WebMark? m, string what = "target") => Do(WebDecisionKind.Hover, m, what);

    /// <summary>Drag a mark onto another.</summary>
    public static WebDecision Drag(WebMark? m, WebMark? to, string what = "drag") =>
        to is null ? Fail("no drop target for " + what) : Do(WebDecisionKind.Drag, m, what) with { ToMark = to.Id };

    /// <summary>Press a key (on whatever has focus).</summary>
    public static WebDecision Press(string key) => new() { Kind = WebDecisionKind.Press, Value = key };

    /// <summary>Scroll the container of a mark (or the page when null) up or down.</summary>
    public static WebDecision Scroll(string direction, WebMark? m = null) => new() { Kind = WebDecisionKind.Scroll, Mark = m?.Id, Value = direction };

    /// <summary>Wait a bounded time for the page.</summary>
    public static WebDecision Wait(int milliseconds) => new() { Kind = WebDecisionKind.Wait, Value = milliseconds.ToString(CultureInfo.InvariantCulture) };

    /// <summary>A step the script cannot take (counted as invalid).</summary>
    public static WebDecision Fail(string why) => new() { Kind = WebDecisionKind.Invalid, Note = why };

    private static WebDecision Do(WebDecisionKind kind, WebMark? m, string what, string? value = null) =>
        m is null ? Fail("no mark for " + what) : new WebDecision { Kind = kind, Mark = m.Id, Value = value };

    internal static bool NameMatches(string actual, string wanted) =>
        wanted.Length == 0
        || string.Equals(actual.Trim(), wanted, StringComparison.OrdinalIgnoreCase)
        || (wanted.Length > 1 && wanted.StartsWith('/') && wanted.EndsWith('/') && Regex.IsMatch(actual, wanted[1..^1], RegexOptions.IgnoreCase));
}
