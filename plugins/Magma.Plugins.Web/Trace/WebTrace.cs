using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Trace;

/// <summary>One step of a run, as written to the trace.</summary>
public sealed record WebTraceStep
{
    /// <summary>Step number from 0.</summary>
    public required int Index { get; init; }

    /// <summary>The observation the decision was made on.</summary>
    public required WebObservation Observation { get; init; }

    /// <summary>The decision (prompt, raw answer, parsed action).</summary>
    public required WebDecision Decision { get; init; }

    /// <summary>The effect report, or the error text when the action was refused or failed.</summary>
    public required string Outcome { get; init; }

    /// <summary>Milliseconds spent acting and settling.</summary>
    public double ActMs { get; init; }
}

/// <summary>
/// Writes a run to a folder a person can open: per step <c>step-NNN/</c> with clean.png, marked.png, marks.json,
/// prompt.txt, answer.txt, step.json (action, effect, timings), and an <c>index.html</c> rewritten after every step so
/// that it is complete even when a run stops early.
/// </summary>
public sealed class WebTrace
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly List<WebTraceStep> _steps = [];
    private readonly Func<string, string> _redact;

    /// <summary>Creates the folder (and parents).</summary>
    /// <param name="folder">Where to write.</param>
    /// <param name="goal">The run's goal.</param>
    /// <param name="redact">Applied to every text written (pass <see cref="Browser.WebSession.Redact"/>); null writes text as is.</param>
    public WebTrace(string folder, string goal, Func<string, string>? redact = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        _redact = redact ?? (s => s);
        Folder = Path.GetFullPath(folder);
        Goal = _redact(goal ?? "");
        Directory.CreateDirectory(Folder);
        WriteIndex();
    }

    /// <summary>The trace folder.</summary>
    public string Folder { get; }

    /// <summary>The run's goal.</summary>
    public string Goal { get; }

    /// <summary>Steps recorded so far.</summary>
    public IReadOnlyList<WebTraceStep> Steps => _steps;

    /// <summary>Final status line (set with <see cref="Finish"/>).</summary>
    public string Status { get; private set; } = "running";

    /// <summary>Writes one step and refreshes index.html.</summary>
    public void Record(WebTraceStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        string dir = Path.Combine(Folder, StepDir(step.Index));
        Directory.CreateDirectory(dir);
        WebObservation o = step.Observation;
        File.WriteAllBytes(Path.Combine(dir, "clean.png"), o.Screenshot.EncodePng());
        File.WriteAllBytes(Path.Combine(dir, "marked.png"), o.Marked.EncodePng());
        File.WriteAllText(Path.Combine(dir, "marks.json"), _redact(JsonSerializer.Serialize(o.Marks.Select(m => new
        {
            m.Id, m.Role, m.Name, m.NameFrom, m.Tag, m.Type, m.Value, m.Checked, m.States, m.Options, m.FramePath, m.InShadowRoot,
            css = new[] { m.CssBox.X, m.CssBox.Y, m.CssBox.Width, m.CssBox.Height },
            px = new[] { m.PixelBox.X, m.PixelBox.Y, m.PixelBox.Width, m.PixelBox.Height },
        }), Json)));
        File.WriteAllText(Path.Combine(dir, "prompt.txt"), _redact(step.Decision.Prompt));
        File.WriteAllText(Path.Combine(dir, "answer.txt"), _redact(step.Decision.RawAnswer));
        File.WriteAllText(Path.Combine(dir, "step.json"), _redact(JsonSerializer.Serialize(new
        {
            step.Index, observation = o.Id, o.Url, o.Title,
            action = step.Decision.ToString(), kind = step.Decision.Kind.ToString(), step.Decision.Mark, step.Decision.ToMark, step.Decision.Value, step.Decision.Note,
            outcome = step.Outcome,
            timings = new { observe = o.Timings.TotalMs, discover = o.Timings.DiscoverMs, screenshot = o.Timings.ScreenshotMs, draw = o.Timings.DrawMs, model = step.Decision.ModelMs, act = step.ActMs },
        }, Json)));
        _steps.Add(step);
        WriteIndex();
    }

    /// <summary>Sets the final status and rewrites index.html.</summary>
    public void Finish(string status)
    {
        Status = _redact(status ?? "");
        WriteIndex();
    }

    /// <summary>
    /// The Outcome cell: what acting did, without the action again (the Decision cell shows it). Effect reports read
    /// "&lt;action&gt;: &lt;effects&gt;"; refusals and errors are shown whole.
    /// </summary>
    internal static string Effect(WebTraceStep step)
    {
        string outcome = step.Outcome;
        switch (step.Decision.Kind)
        {
            case WebDecisionKind.Invalid:
                return "no action taken";
            case WebDecisionKind.Done:
                return outcome;
        }

        if (outcome.StartsWith("ERROR", StringComparison.Ordinal))
        {
            return outcome;
        }

        // A mark's description can itself hold ": " (an element named "Email: "), so cut after it when it is known.
        string? target = step.Decision.Mark is int m ? step.Observation.Find(m)?.Describe() : null;
        int at = target is null ? -1 : outcome.IndexOf(target + ": ", StringComparison.Ordinal);
        if (at >= 0)
        {
            return outcome[(at + target!.Length + 2)..];
        }

        at = outcome.IndexOf(": ", StringComparison.Ordinal);
        return at >= 0 ? outcome[(at + 2)..] : outcome;
    }

    private static string StepDir(int index) => "step-" + index.ToString("000", CultureInfo.InvariantCulture);

    private void WriteIndex()
    {
        string H(string s) => WebUtility.HtmlEncode(_redact(s));
        var s = new StringBuilder();
        // Fixed column widths, and long unbroken answers (the tiny model writes such noise) wrap inside their cell
        // instead of running over the next columns; screenshots at a readable width, full size one click away.
        s.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Web agent trace</title><style>")
         .Append("body{font:14px sans-serif;margin:16px}table{border-collapse:collapse;table-layout:fixed;width:100%;min-width:1200px}")
         .Append("td,th{border:1px solid #ccc;padding:6px;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}")
         .Append("col.n{width:110px}col.shot{width:820px}col.t{width:110px}img{width:800px;max-width:100%;height:auto}")
         .Append("pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;max-height:24em;overflow:auto}</style></head><body>")
         .Append("<h1>Web agent trace</h1><p><b>Goal:</b> ").Append(H(Goal)).Append("</p><p><b>Status:</b> ").Append(H(Status))
         .Append("</p><table><colgroup><col class=\"n\"><col class=\"shot\"><col><col><col class=\"t\"></colgroup>")
         .Append("<tr><th>#</th><th>Marked screenshot</th><th>Decision</th><th>Outcome</th><th>Timings (ms)</th></tr>");
        foreach (WebTraceStep st in _steps)
        {
            string d = StepDir(st.Index);
            WebObservation o = st.Observation;
            s.Append("<tr><td>").Append(st.Index).Append("<br>").Append(H(o.Id)).Append("<br><small>").Append(H(o.Url)).Append("</small></td>")
             .Append("<td><a href=\"").Append(d).Append("/marked.png\"><img src=\"").Append(d).Append("/marked.png\"></a><br><a href=\"").Append(d)
             .Append("/clean.png\">clean</a> · <a href=\"").Append(d).Append("/marks.json\">marks</a> · <a href=\"").Append(d).Append("/prompt.txt\">prompt</a></td>")
             .Append("<td><b>").Append(H(st.Decision.ToString())).Append("</b><br><small>").Append(H(st.Decision.Note)).Append("</small><pre>")
             .Append(H(st.Decision.RawAnswer)).Append("</pre></td><td>").Append(H(Effect(st))).Append("</td><td>")
             .Append(CultureInfo.InvariantCulture, $"observe {o.Timings.TotalMs:0}<br>model {st.Decision.ModelMs:0}<br>act {st.ActMs:0}")
             .Append("</td></tr>");
        }

        s.Append("</table></body></html>");
        File.WriteAllText(Path.Combine(Folder, "index.html"), s.ToString());
    }
}
