using System.Globalization;
using System.Text.Json;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Decoding;

namespace Magma.Plugins.Web.Grounding;

/// <summary>
/// Reads the actions of the web vocabulary beyond Mind2Web's CLICK/TYPE/SELECT (which the engine's parser reads):
/// HOVER, DOUBLE_CLICK, DRAG (to a mark or a point), SET_VALUE, ADD_OPTION/REMOVE_OPTION (or SELECT with MODE),
/// PRESS, BACK, WAIT, SCROLL (optionally at a mark) and DONE, as JSON objects like
/// <c>{"ACTION": "DRAG", "MARK": 3, "TO": 7}</c>. Keys and action names are case-insensitive.
/// </summary>
internal static class WebActionReader
{
    /// <summary>The decision, or null when the answer holds no JSON object with one of these actions.</summary>
    public static WebDecision? Read(WebObservation observation, string answer, Func<WebDecisionKind, int?, string?, string, WebDecision> make)
    {
        if (JsonSnippet.TryParseFirstObject(answer, out _) is not { } json)
        {
            return null;
        }

        using JsonDocument doc = json;
        JsonElement root = doc.RootElement;
        string action = (Get(root, "ACTION") is { ValueKind: JsonValueKind.String } a ? a.GetString() ?? "" : "").Trim().ToUpperInvariant().Replace(' ', '_').Replace('-', '_');
        string? value = Get(root, "VALUE") switch
        {
            { ValueKind: JsonValueKind.String } v => v.GetString(),
            { ValueKind: JsonValueKind.Number } v => v.GetRawText(),
            _ => null,
        };
        string mode = Get(root, "MODE") is { ValueKind: JsonValueKind.String } m ? (m.GetString() ?? "").Trim().ToUpperInvariant() : "";
        if (action == "SELECT" && mode is "ADD" or "REMOVE")
        {
            action = mode + "_OPTION";
        }

        WebDecisionKind? kind = action switch
        {
            "HOVER" => WebDecisionKind.Hover,
            "DOUBLE_CLICK" or "DOUBLECLICK" or "DBLCLICK" => WebDecisionKind.DoubleClick,
            "DRAG" or "DRAG_AND_DROP" => WebDecisionKind.Drag,
            "SET_VALUE" or "SETVALUE" => WebDecisionKind.SetValue,
            "ADD_OPTION" => WebDecisionKind.AddOption,
            "REMOVE_OPTION" => WebDecisionKind.RemoveOption,
            "PRESS" => WebDecisionKind.Press,
            "BACK" or "GO_BACK" => WebDecisionKind.Back,
            "WAIT" => WebDecisionKind.Wait,
            "SCROLL" => WebDecisionKind.Scroll,
            "DONE" => WebDecisionKind.Done,
            _ => null,
        };
        if (kind is not { } k)
        {
            return null;
        }

        int? mark = Get(root, "MARK") is { } mk && TryMark(mk, out int n) ? n : null;
        bool needsMark = k is WebDecisionKind.Hover or WebDecisionKind.DoubleClick or WebDecisionKind.Drag or WebDecisionKind.SetValue
            or WebDecisionKind.AddOption or WebDecisionKind.RemoveOption;
        if (needsMark && mark is null)
        {
            return make(WebDecisionKind.Invalid, null, null, $"{action} needs a \"MARK\" (a mark number)");
        }

        if (mark is int id && observation.Find(id) is null)
        {
            return make(WebDecisionKind.Invalid, null, null, $"mark {id} is not among marks 0..{observation.Marks.Count - 1}");
        }

        switch (k)
        {
            case WebDecisionKind.Press when string.IsNullOrWhiteSpace(value):
                return make(WebDecisionKind.Invalid, null, null, "PRESS needs a \"VALUE\" with a key name, e.g. Enter");
            case WebDecisionKind.Wait when !int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int ms) || ms is < 0 or > Browser.WebSession.MaxWaitMilliseconds:
                return make(WebDecisionKind.Invalid, null, null, $"WAIT needs a \"VALUE\" in milliseconds, 0 to {Browser.WebSession.MaxWaitMilliseconds}");
            case WebDecisionKind.Scroll:
                value = string.Equals((value ?? "down").Trim(), "UP", StringComparison.OrdinalIgnoreCase) ? "up" : "down";
                break;
            case WebDecisionKind.SetValue or WebDecisionKind.AddOption or WebDecisionKind.RemoveOption when value is null:
                return make(WebDecisionKind.Invalid, null, null, $"{action} needs a \"VALUE\"");
            case WebDecisionKind.Drag:
                return Drag(observation, root, mark!.Value, make);
        }

        return make(k, mark, value, "json");
    }

    private static WebDecision Drag(WebObservation observation, JsonElement root, int mark, Func<WebDecisionKind, int?, string?, string, WebDecision> make)
    {
        JsonElement? to = Get(root, "TO") ?? Get(root, "TO_MARK") ?? Get(root, "TARGET");
        if (to is { } t && TryMark(t, out int target))
        {
            return observation.Find(target) is null
                ? make(WebDecisionKind.Invalid, null, null, $"drop mark {target} is not among marks 0..{observation.Marks.Count - 1}")
                : make(WebDecisionKind.Drag, mark, null, "json") with { ToMark = target };
        }

        // A point [x, y]: fractions of the screenshot (Magma's coordinates) when both are at most 1, else pixels.
        if (to is { ValueKind: JsonValueKind.Array } p && p.GetArrayLength() == 2
            && p[0].TryGetDouble(out double x) && p[1].TryGetDouble(out double y) && x >= 0 && y >= 0)
        {
            bool fraction = x <= 1 && y <= 1;
            (double px, double py) = fraction ? (x * observation.Marked.Width, y * observation.Marked.Height) : (x, y);
            return px < observation.Marked.Width && py < observation.Marked.Height
                ? make(WebDecisionKind.Drag, mark, null, "json") with { ToPoint = (px, py) }
                : make(WebDecisionKind.Invalid, null, null, $"drop point ({x}, {y}) is outside the screenshot");
        }

        return make(WebDecisionKind.Invalid, null, null, "DRAG needs \"TO\": a mark number or a point [x, y]");
    }

    private static bool TryMark(JsonElement e, out int mark)
    {
        mark = -1;
        return e.ValueKind switch
        {
            JsonValueKind.Number => e.TryGetInt32(out mark) && mark >= 0,
            JsonValueKind.String => int.TryParse(e.GetString()?.Trim().Trim('[', ']'), NumberStyles.Integer, CultureInfo.InvariantCulture, out mark) && mark >= 0,
            _ => false,
        };
    }

    private static JsonElement? Get(JsonElement root, string name)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (JsonProperty p in root.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }

        return null;
    }
}
