using System.Text.Json;
using System.Text.RegularExpressions;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Evaluation;

/// <summary>One scripted step: what to do to the mark with this name (and role).</summary>
/// <param name="Do">The action, as the task's oracle script names it: <c>click</c>, <c>type</c>, <c>select</c>, <c>add</c>,
/// <c>remove</c>, <c>set</c>, <c>hover</c>, <c>dblclick</c>, <c>drag</c> on a mark; <c>press</c>, <c>back</c>, <c>wait</c> on the page.</param>
/// <param name="Name">The mark's accessible name (case-insensitive), a <c>/regex/</c>, or empty for any.</param>
/// <param name="Role">The mark's role; null for any.</param>
/// <param name="Value">The text to type, the option or value to set, or the key to press.</param>
/// <param name="To">For <c>drag</c>: the drop target's name, matched like <paramref name="Name"/>.</param>
public sealed record OracleStep(string Do, string Name, string? Role, string? Value, string? To = null);

/// <summary>
/// The scripted oracle. It knows the steps but acts only through the marks of the current observation — so its success
/// rate measures observation and acting fidelity, not the script. A step whose mark is not visible scrolls first.
/// </summary>
/// <param name="steps">The task's scripted steps (<see cref="EpisodeStart.Oracle"/>).</param>
public sealed class OraclePolicy(IReadOnlyList<OracleStep> steps) : IWebPolicy
{
    private int _next;
    private int _scrolls;

    internal static IReadOnlyList<OracleStep> FromTaskJson(JsonElement oracle) =>
        [.. oracle.EnumerateArray().Select(s => new OracleStep(
            s.GetProperty("do").GetString()!,
            s.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? "" : "",
            s.TryGetProperty("role", out JsonElement r) ? r.GetString() : null,
            s.TryGetProperty("text", out JsonElement t) ? t.GetString() : s.TryGetProperty("option", out JsonElement o) ? o.GetString() : s.TryGetProperty("key", out JsonElement k) ? k.GetString()
                : s.TryGetProperty("value", out JsonElement v) ? v.ToString() : null,
            s.TryGetProperty("to", out JsonElement to) ? to.GetString() : null))];

    /// <inheritdoc/>
    public Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default)
    {
        if (_next >= steps.Count)
        {
            return Task.FromResult(new WebDecision { Kind = WebDecisionKind.Done });
        }

        OracleStep step = steps[_next];
        if (step.Do is "press" or "back" or "wait")
        {
            _next++;
            WebDecisionKind k = step.Do switch { "press" => WebDecisionKind.Press, "back" => WebDecisionKind.Back, _ => WebDecisionKind.Wait };
            return Task.FromResult(new WebDecision { Kind = k, Value = step.Value });
        }

        WebMark? mark = observation.Marks.FirstOrDefault(m => Matches(m, step));
        if (mark is null)
        {
            if (_scrolls++ < 10)
            {
                return Task.FromResult(new WebDecision { Kind = WebDecisionKind.Scroll, Value = "down", Note = $"\"{step.Name}\" not visible" });
            }

            return Task.FromResult(new WebDecision { Kind = WebDecisionKind.Invalid, Note = $"no mark \"{step.Name}\"" });
        }

        // A drag names its drop target by name too ("to"), found among the same marks.
        WebMark? drop = step.To is null ? null : observation.Marks.FirstOrDefault(m => m.Id != mark.Id && Matches(m, step with { Name = step.To, Role = null }));
        if (step.Do == "drag" && drop is null)
        {
            return Task.FromResult(new WebDecision { Kind = WebDecisionKind.Invalid, Note = $"no drop mark \"{step.To}\"" });
        }

        _next++;
        _scrolls = 0;
        WebDecisionKind kind = step.Do switch
        {
            "type" => WebDecisionKind.Type,
            "select" => WebDecisionKind.Select,
            "add" => WebDecisionKind.AddOption,
            "remove" => WebDecisionKind.RemoveOption,
            "set" => WebDecisionKind.SetValue,
            "hover" => WebDecisionKind.Hover,
            "dblclick" => WebDecisionKind.DoubleClick,
            "drag" => WebDecisionKind.Drag,
            _ => WebDecisionKind.Click,
        };
        return Task.FromResult(new WebDecision { Kind = kind, Mark = mark.Id, Value = step.Value, ToMark = drop?.Id });
    }

    private static bool Matches(WebMark m, OracleStep s) =>
        (s.Role is null || m.Role == s.Role)
        && (s.Name.Length == 0 || string.Equals(m.Name, s.Name, StringComparison.OrdinalIgnoreCase)
            || (s.Name.StartsWith('/') && Regex.IsMatch(m.Name, s.Name.Trim('/'), RegexOptions.IgnoreCase)));
}

/// <summary>Random marks: a floor to compare Magma with. Text fields get typed into, selects get their first option.</summary>
/// <param name="seed">Seeds the choice of marks, so an episode can be repeated.</param>
public sealed class RandomPolicy(int seed) : IWebPolicy
{
    private readonly Random _random = new(seed);

    /// <inheritdoc/>
    public Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default)
    {
        if (observation.Marks.Count == 0)
        {
            return Task.FromResult(new WebDecision { Kind = WebDecisionKind.Scroll, Value = "down" });
        }

        WebMark m = observation.Marks[_random.Next(observation.Marks.Count)];
        return Task.FromResult(m.Role switch
        {
            "textbox" => new WebDecision { Kind = WebDecisionKind.Type, Mark = m.Id, Value = "test" },
            "combobox" or "listbox" when m.Tag == "select" => new WebDecision { Kind = WebDecisionKind.Select, Mark = m.Id, Value = "" },
            _ => new WebDecision { Kind = WebDecisionKind.Click, Mark = m.Id },
        });
    }
}
