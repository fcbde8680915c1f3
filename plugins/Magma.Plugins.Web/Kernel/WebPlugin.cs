using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Magma.Inference;
using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Magma.Plugins.Web.Trace;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using SkKernel = Microsoft.SemanticKernel.Kernel;

namespace Magma.Plugins.Web.Kernel;

/// <summary>
/// Semantic Kernel functions over a <see cref="WebSession"/>: open, observe, ground, click, double_click, hover, drag,
/// type, set_value, select (replace, add, remove), scroll, press, back, wait, and the loop <c>do_task</c>. Action functions return the effect report, a <c>REFUSED:</c> line when the approval
/// gate held something back, or an <c>ERROR:</c> line the model can act on (stale marks, refused origins, missing marks,
/// bad keys or text) instead of throwing; only host failures (a browser that died) throw. Every string returned is
/// redacted. Register it with <c>kernel.Plugins.AddFromObject(plugin, plugin.Name)</c> and give the session an approver
/// (<see cref="WebSessionOptions.Approve"/> or a <see cref="Safety.WebConfirmationFilter"/>).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1707", Justification = "Parameter names are the tool schema the model sees; snake_case like the function names.")]
public sealed class WebPlugin
{
    /// <summary>Creates the plugin.</summary>
    /// <param name="session">The browser session it drives.</param>
    /// <param name="model">Magma, for <c>ground</c> and for <c>do_task</c> when no policy is given.</param>
    /// <param name="policy">The policy of <c>do_task</c>; defaults to <see cref="MagmaWebPolicy"/> over <paramref name="model"/>.</param>
    public WebPlugin(WebSession session, MagmaModel? model = null, IWebPolicy? policy = null)
    {
        Session = session ?? throw new ArgumentNullException(nameof(session));
        Model = model;
        Policy = policy ?? (model is null ? null : new MagmaWebPolicy(model));
    }

    /// <summary>Plugin name used when registering (default "web").</summary>
    public string Name { get; init; } = "web";

    /// <summary>The session.</summary>
    public WebSession Session { get; }

    /// <summary>The model, if any.</summary>
    public MagmaModel? Model { get; }

    /// <summary>The do_task policy, if any.</summary>
    public IWebPolicy? Policy { get; }

    /// <summary>Where do_task writes traces (a new sub-folder per run); null disables tracing.</summary>
    public string? TraceRoot { get; init; }

    /// <summary>Raised after every do_task step (for hosts that print progress).</summary>
    public event EventHandler<WebTraceStep>? StepCompleted;

    /// <summary>The trace of the last do_task run.</summary>
    public WebTrace? LastTrace { get; private set; }

    /// <summary>Opens a URL.</summary>
    [KernelFunction("open"), Description("Open a URL in the browser. Only allow-listed origins can be opened.")]
    public Task<string> OpenAsync([Description("Absolute URL")] string url, CancellationToken cancellationToken = default) =>
        Guard(() => Session.OpenAsync(url, cancellationToken));

    /// <summary>Observes the page: marked screenshot (image) and the mark list (text).</summary>
    [KernelFunction("observe"), Description("Look at the page: returns a screenshot with numbered marks on interactive elements, the mark list and an observation id to use in actions.")]
    public async Task<ChatMessageContentItemCollection> ObserveAsync(CancellationToken cancellationToken = default)
    {
        WebObservation obs;
        try
        {
            obs = await Session.ObserveAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Microsoft.Playwright.PlaywrightException e) when (Session.IsAlive)
        {
            // The document was replaced mid-observation (a navigation): say so rather than throw at the model.
            return [new TextContent("ERROR: the page changed while it was observed (" + Session.Redact(e.Message.Split('\n')[0]) + "); call observe again.")];
        }

        return
        [
            new TextContent($"observation_id: {obs.Id}\nurl: {obs.Url}\ntitle: {obs.Title}\nmarks:\n{obs.MarkList()}"),
            new ImageContent(obs.Marked.EncodePng(), "image/png"),
        ];
    }

    /// <summary>Grounds an instruction on a fresh observation with Magma.</summary>
    [KernelFunction("ground"), Description("Find the element for an instruction (e.g. 'the search box') with Magma; returns the observation id and mark to act on.")]
    public async Task<string> GroundAsync([Description("What to find")] string instruction, CancellationToken cancellationToken = default)
    {
        if (Model is null)
        {
            return "ERROR: no Magma model is loaded; construct WebPlugin with a MagmaModel to use ground.";
        }

        WebObservation obs = await Session.ObserveAsync(cancellationToken).ConfigureAwait(false);
        WebGrounding g = await new MagmaWebPolicy(Model).GroundAsync(obs, instruction, cancellationToken).ConfigureAwait(false);
        if (g.Pixel is not { } p)
        {
            return $"ERROR: the model's answer could not be read ({g.Note}); answer was \"{g.RawAnswer}\". observation_id: {obs.Id}";
        }

        return g.Mark is { } m
            ? $"observation_id: {obs.Id}; mark {m.Id}: {m.Describe()} ({g.Note})"
            : $"observation_id: {obs.Id}; no mark; point ({p.X:0},{p.Y:0}) px ({g.Note})";
    }

    /// <summary>Clicks a mark.</summary>
    [KernelFunction("click"), Description("Click the element with this mark in this observation.")]
    public Task<string> ClickAsync(string observation_id, int mark, CancellationToken cancellationToken = default) =>
        Guard(() => Session.ClickAsync(observation_id, mark, cancellationToken));

    /// <summary>Types into a mark.</summary>
    [KernelFunction("type"), Description("Replace the text of the field with this mark. Use {{secret:NAME}} for credentials. Optionally press Enter.")]
    public Task<string> TypeAsync(string observation_id, int mark, string text, bool press_enter = false, CancellationToken cancellationToken = default) =>
        Guard(() => Session.TypeAsync(observation_id, mark, text, press_enter, cancellationToken));

    /// <summary>Double-clicks a mark.</summary>
    [KernelFunction("double_click"), Description("Double-click the element with this mark in this observation.")]
    public Task<string> DoubleClickAsync(string observation_id, int mark, CancellationToken cancellationToken = default) =>
        Guard(() => Session.DoubleClickAsync(observation_id, mark, cancellationToken));

    /// <summary>Hovers over a mark.</summary>
    [KernelFunction("hover"), Description("Move the mouse over the element with this mark (opens menus and tooltips that appear on hover).")]
    public Task<string> HoverAsync(string observation_id, int mark, CancellationToken cancellationToken = default) =>
        Guard(() => Session.HoverAsync(observation_id, mark, cancellationToken));

    /// <summary>Drags a mark onto another mark, or to a point.</summary>
    [KernelFunction("drag"), Description("Drag the element with this mark and drop it onto the element with to_mark, or at the screenshot point (to_x, to_y) in pixels.")]
    public Task<string> DragAsync(string observation_id, int mark, int? to_mark = null, double? to_x = null, double? to_y = null, CancellationToken cancellationToken = default) =>
        (to_mark, to_x, to_y) switch
        {
            (int target, null, null) => Guard(() => Session.DragAsync(observation_id, mark, target, cancellationToken)),
            (null, double x, double y) => Guard(() => Session.DragToPointAsync(observation_id, mark, x, y, cancellationToken)),
            _ => Task.FromResult("ERROR: drag needs either to_mark, or both to_x and to_y (screenshot pixels); not both and not neither."),
        };

    /// <summary>Sets a field's value.</summary>
    [KernelFunction("set_value"), Description("Set the value of the field with this mark: dates as YYYY-MM-DD, times as HH:MM, months as YYYY-MM, weeks as YYYY-Www, colours as #rrggbb, sliders as a number (a percentage such as 40% when the slider's value reads like value=\"40%\"); other fields get the text typed.")]
    public Task<string> SetValueAsync(string observation_id, int mark, string value, CancellationToken cancellationToken = default) =>
        Guard(() => Session.SetValueAsync(observation_id, mark, value, cancellationToken));

    /// <summary>Selects an option (replace), or adds/removes one in a multi-select.</summary>
    [KernelFunction("select"), Description("Choose the option with this label in the list with this mark. mode: 'replace' (the only choice, default), 'add' or 'remove' (one option of a multi-select list, keeping the others).")]
    public Task<string> SelectAsync(string observation_id, int mark, string option, string mode = "replace", CancellationToken cancellationToken = default) =>
        (mode ?? "replace").Trim().ToUpperInvariant() switch
        {
            "REPLACE" or "" => Guard(() => Session.SelectAsync(observation_id, mark, option, WebSelectMode.Replace, cancellationToken)),
            "ADD" => Guard(() => Session.SelectAsync(observation_id, mark, option, WebSelectMode.Add, cancellationToken)),
            "REMOVE" => Guard(() => Session.SelectAsync(observation_id, mark, option, WebSelectMode.Remove, cancellationToken)),
            _ => Task.FromResult(Session.Redact($"ERROR: select mode \"{mode}\" is not known; use 'replace', 'add' or 'remove'.")),
        };

    /// <summary>Waits.</summary>
    [KernelFunction("wait"), Description("Wait this many milliseconds (0 to 10000) for the page to do something on its own, then report what changed.")]
    public Task<string> WaitAsync(int milliseconds, CancellationToken cancellationToken = default) =>
        Guard(() => Session.WaitAsync(milliseconds, cancellationToken));

    /// <summary>Scrolls.</summary>
    [KernelFunction("scroll"), Description("Scroll the page 'down' or 'up'; with a mark, scroll the list that contains it.")]
    public Task<string> ScrollAsync(string direction, string? observation_id = null, int? mark = null, CancellationToken cancellationToken = default) =>
        Guard(() => Session.ScrollAsync(direction, observation_id, mark, cancellationToken));

    /// <summary>Presses a key.</summary>
    [KernelFunction("press"), Description("Press a key on the focused element: Enter, Tab, Escape, ArrowDown, …")]
    public Task<string> PressAsync(string key, CancellationToken cancellationToken = default) =>
        Guard(() => Session.PressAsync(key, cancellationToken));

    /// <summary>Goes back.</summary>
    [KernelFunction("back"), Description("Go back to the previous page.")]
    public Task<string> BackAsync(CancellationToken cancellationToken = default) =>
        Guard(() => Session.BackAsync(cancellationToken));

    /// <summary>
    /// Runs observe → decide → act → verify until the policy says done or <paramref name="max_steps"/> is reached. Each
    /// action goes through the kernel, so function filters (the confirmation gate) apply to every step.
    /// </summary>
    [KernelFunction("do_task"), Description("Carry out a multi-step task on the current page, observing and acting until done.")]
    public async Task<string> DoTaskAsync(SkKernel kernel, string goal, int max_steps = 10, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(goal);
        if (Policy is null)
        {
            return "ERROR: do_task needs a policy; construct WebPlugin with a MagmaModel or an IWebPolicy.";
        }

        if (!kernel.Plugins.TryGetPlugin(Name, out _))
        {
            return $"ERROR: register this plugin in the kernel as \"{Name}\" (kernel.Plugins.AddFromObject(plugin, \"{Name}\")) so do_task runs its actions through the kernel's filters.";
        }

        WebTrace? trace = TraceRoot is null ? null
            : new WebTrace(Path.Combine(TraceRoot, DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff", CultureInfo.InvariantCulture)), goal, Session.Redact);
        LastTrace = trace;
        var history = new List<string>();
        int idle = 0;
        string status = $"stopped after {max_steps} steps";
        for (int step = 0; step < max_steps; step++)
        {
            WebObservation obs = await Session.ObserveAsync(cancellationToken).ConfigureAwait(false);
            WebDecision decision = await Policy.DecideAsync(obs, goal, history, cancellationToken).ConfigureAwait(false);
            var sw = Stopwatch.StartNew();
            string outcome = decision.Kind == WebDecisionKind.Done ? "done"
                : decision.Kind == WebDecisionKind.Invalid ? $"invalid answer: {decision.Note}"
                : await InvokeAsync(kernel, obs, decision, cancellationToken).ConfigureAwait(false);
            var record = new WebTraceStep { Index = step, Observation = obs, Decision = decision, Outcome = outcome, ActMs = sw.Elapsed.TotalMilliseconds };
            trace?.Record(record);
            StepCompleted?.Invoke(this, record);
            WebMark? target = decision.Mark is int m ? obs.Find(m) : null;
            history.Add(Session.Redact(MagmaWebPolicy.HistoryLine(target?.Role, target?.Name, decision, outcome)));
            if (decision.Kind == WebDecisionKind.Done)
            {
                status = $"done after {step + 1} steps";
                break;
            }

            // Verify: stop a loop that keeps changing nothing.
            idle = outcome.EndsWith("nothing changed", StringComparison.Ordinal) || decision.Kind == WebDecisionKind.Invalid ? idle + 1 : 0;
            if (idle >= 3)
            {
                status = $"stopped after {step + 1} steps: 3 steps in a row changed nothing";
                break;
            }
        }

        trace?.Finish(status);
        var s = new StringBuilder(status);
        if (trace is not null)
        {
            s.Append(". trace: ").Append(Path.Combine(trace.Folder, "index.html"));
        }

        foreach (string h in history)
        {
            s.Append('\n').Append(h);
        }

        return Session.Redact(s.ToString());
    }

    private async Task<string> InvokeAsync(SkKernel kernel, WebObservation obs, WebDecision d, CancellationToken ct)
    {
        if (d.Mark is null && d.Point is { } p && d.Kind == WebDecisionKind.Click)
        {
            // Grounding fallback: the element under a point outside every mark.
            return await Guard(() => Session.ClickPointAsync(obs.Id, p.X, p.Y, ct)).ConfigureAwait(false);
        }

        (string fn, KernelArguments args) = d.Kind switch
        {
            WebDecisionKind.Click => ("click", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark }),
            WebDecisionKind.DoubleClick => ("double_click", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark }),
            WebDecisionKind.Hover => ("hover", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark }),
            WebDecisionKind.Drag => ("drag", new KernelArguments
            {
                ["observation_id"] = obs.Id, ["mark"] = d.Mark, ["to_mark"] = d.ToMark, ["to_x"] = d.ToPoint?.X, ["to_y"] = d.ToPoint?.Y,
            }),
            WebDecisionKind.Type => ("type", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark, ["text"] = d.Value ?? "", ["press_enter"] = false }),
            WebDecisionKind.SetValue => ("set_value", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark, ["value"] = d.Value ?? "" }),
            WebDecisionKind.Select => ("select", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark, ["option"] = d.Value ?? "" }),
            WebDecisionKind.AddOption => ("select", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark, ["option"] = d.Value ?? "", ["mode"] = "add" }),
            WebDecisionKind.RemoveOption => ("select", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = d.Mark, ["option"] = d.Value ?? "", ["mode"] = "remove" }),
            WebDecisionKind.Scroll => ("scroll", new KernelArguments { ["direction"] = d.Value ?? "down", ["observation_id"] = d.Mark is null ? null : obs.Id, ["mark"] = d.Mark }),
            WebDecisionKind.Press => ("press", new KernelArguments { ["key"] = d.Value ?? "Enter" }),
            WebDecisionKind.Wait => ("wait", new KernelArguments
            {
                ["milliseconds"] = int.TryParse(d.Value, System.Globalization.NumberStyles.Integer, CultureInfo.InvariantCulture, out int ms) ? ms : 1000,
            }),
            _ => ("back", new KernelArguments()),
        };
        FunctionResult result = await kernel.InvokeAsync(Name, fn, args, ct).ConfigureAwait(false);
        return result.GetValue<object>()?.ToString() ?? "";
    }

    private async Task<string> Guard(Func<Task<WebEffect>> act)
    {
        string result;
        try
        {
            WebEffect effect = await act().ConfigureAwait(false);
            result = effect.Refused.Count > 0
                ? "REFUSED: the approval gate held back part of this action and nothing of that was sent (" + string.Join("; ", effect.Refused)
                  + "). Do not retry it; choose another action or stop. Effect: " + effect
                : effect.ToString();
        }
        catch (WebStaleObservationException ex)
        {
            result = "ERROR (stale): " + ex.Message;
        }
        catch (WebPolicyException ex)
        {
            result = "ERROR (policy): " + ex.Message;
        }
        catch (WebActionException ex)
        {
            result = "ERROR: " + ex.Message;
        }
        catch (ArgumentException ex)
        {
            result = "ERROR: " + ex.Message;
        }
        catch (Microsoft.Playwright.PlaywrightException ex) when (Session.IsAlive)
        {
            // Navigation errors (unreachable host, timeouts) are the page's or the model's, not the host's.
            result = "ERROR (browser): " + ex.Message.Split('\n')[0].Trim() + ". Observe the page and try another action.";
        }

        return Session.Redact(result);
    }
}
