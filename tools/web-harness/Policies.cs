using System.Text.Json;
using System.Text.RegularExpressions;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.WebHarness;

/// <summary>One scripted step: what to do to the mark with this name (and role).</summary>
internal sealed record OracleStep(string Do, string Name, string? Role, string? Value, string? To = null);

/// <summary>
/// The scripted oracle. It knows the steps but acts only through the marks of the current observation — so its success
/// rate measures observation and acting fidelity, not the script. A step whose mark is not visible scrolls first.
/// </summary>
internal sealed class OraclePolicy(IReadOnlyList<OracleStep> steps) : IWebPolicy
{
    private int _next;
    private int _scrolls;

    public static IReadOnlyList<OracleStep> FromTaskJson(JsonElement oracle) =>
        [.. oracle.EnumerateArray().Select(s => new OracleStep(
            s.GetProperty("do").GetString()!,
            s.TryGetProperty("name", out JsonElement n) ? n.GetString() ?? "" : "",
            s.TryGetProperty("role", out JsonElement r) ? r.GetString() : null,
            s.TryGetProperty("text", out JsonElement t) ? t.GetString() : s.TryGetProperty("option", out JsonElement o) ? o.GetString() : s.TryGetProperty("key", out JsonElement k) ? k.GetString()
                : s.TryGetProperty("value", out JsonElement v) ? v.ToString() : null,
            s.TryGetProperty("to", out JsonElement to) ? to.GetString() : null))];

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
internal sealed class RandomPolicy(int seed) : IWebPolicy
{
    private readonly Random _random = new(seed);

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
