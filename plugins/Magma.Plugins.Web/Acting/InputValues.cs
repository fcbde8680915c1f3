using System.Globalization;
using System.Text.RegularExpressions;

namespace Magma.Plugins.Web.Acting;

/// <summary>
/// Values of inputs that typing cannot fill (date, time, month, week, datetime-local, colour, range): checked against the
/// HTML value formats before they reach the page, so the model's mistake comes back as a sentence that shows the format.
/// </summary>
internal static partial class InputValues
{
    /// <summary>Range moves longer than this many steps are set directly instead of key by key.</summary>
    public const int MaxRangeKeys = 400;

    public static bool IsSettable(string type) =>
        type is "date" or "time" or "month" or "week" or "datetime-local" or "color" or "range";

    /// <summary>How the value of an input of this type is written, for error messages.</summary>
    public static string Format(string type) => type switch
    {
        "date" => "a date is written YYYY-MM-DD, e.g. 2026-12-03",
        "time" => "a time is written HH:MM or HH:MM:SS (24-hour), e.g. 14:30",
        "month" => "a month is written YYYY-MM, e.g. 2026-12",
        "week" => "a week is written YYYY-Www, e.g. 2026-W49",
        "datetime-local" => "a date and time is written YYYY-MM-DDTHH:MM, e.g. 2026-12-03T14:30",
        "color" => "a colour is written #rrggbb, e.g. #1e90ff",
        "range" => "a slider takes a number between its min and max",
        _ => "the value is typed as text",
    };

    /// <summary>The value as the input stores it, or the problem with it (<paramref name="problem"/> non-null).</summary>
    public static string Normalize(string type, string value, string min, string max, string step, out string? problem)
    {
        string v = value.Trim();
        problem = null;
        bool ok = type switch
        {
            "date" => DateOnly.TryParseExact(v, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            "time" => TimeOnly.TryParseExact(v, ["HH:mm", "HH:mm:ss", "HH:mm:ss.fff"], CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            "month" => DateOnly.TryParseExact(v + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _) && v.Length == 7,
            "week" => Week().Match(v) is { Success: true } w && int.Parse(w.Groups[1].Value, CultureInfo.InvariantCulture) is >= 1 and <= 53,
            "datetime-local" => DateTime.TryParseExact(v, ["yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
            "color" => Colour().IsMatch(v),
            "range" => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d),
            _ => true,
        };
        if (!ok)
        {
            problem = $"\"{value}\" is not a {type} value; {Format(type)}.";
            return v;
        }

        if (type == "color")
        {
            // The browser stores colours in lower case; Playwright compares what it set with what the input holds.
            return v.ToLowerInvariant();
        }

        if (type == "range")
        {
            double x = double.Parse(v, CultureInfo.InvariantCulture);
            double lo = Number(min, 0), hi = Number(max, 100);
            if (x < lo || x > hi)
            {
                problem = $"{v} is outside the slider's range {lo.ToString(CultureInfo.InvariantCulture)}..{hi.ToString(CultureInfo.InvariantCulture)}.";
            }
            else if (step != "any" && Number(step, 1) is double s && s > 0 && Math.Abs(Math.Round((x - lo) / s) - ((x - lo) / s)) > 1e-9)
            {
                problem = $"{v} is not on the slider's steps (from {lo.ToString(CultureInfo.InvariantCulture)} in steps of {s.ToString(CultureInfo.InvariantCulture)}).";
            }

            return v;
        }

        // ISO strings of one type compare as their dates do.
        if (min.Length > 0 && string.CompareOrdinal(v, min) < 0)
        {
            problem = $"\"{v}\" is before the earliest allowed value {min}.";
        }
        else if (max.Length > 0 && string.CompareOrdinal(v, max) > 0)
        {
            problem = $"\"{v}\" is after the latest allowed value {max}.";
        }

        return v;
    }

    /// <summary>Arrow-key presses that move a slider from <paramref name="current"/> to <paramref name="target"/>; positive is right.</summary>
    public static int RangeSteps(string current, string target, string min, string step)
    {
        double s = step == "any" ? 0 : Number(step, 1);
        if (s <= 0)
        {
            return int.MaxValue; // no steps: set directly
        }

        double from = Number(current, Number(min, 0)), to = Number(target, from);
        double n = Math.Round((to - from) / s);
        return n > int.MaxValue / 2 || n < int.MinValue / 2 ? int.MaxValue : (int)n;
    }

    private static double Number(string s, double fallback) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : fallback;

    [GeneratedRegex(@"^\d{4}-W(\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Week();

    [GeneratedRegex(@"^#[0-9a-fA-F]{6}$", RegexOptions.CultureInvariant)]
    private static partial Regex Colour();
}
