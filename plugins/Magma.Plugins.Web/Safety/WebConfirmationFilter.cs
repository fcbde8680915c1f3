using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Safety;

/// <summary>A request for a person's approval of an irreversible web action.</summary>
/// <param name="Function">The kernel function (click, type, …).</param>
/// <param name="Reason">Why it needs approval, e.g. "submits a form with [7] button "Pay"".</param>
/// <param name="Url">The page it would happen on.</param>
/// <param name="Mark">The target mark.</param>
public sealed record WebConfirmationRequest(string Function, string Reason, string Url, WebMark? Mark);

/// <summary>
/// The confirmation gate: a Semantic Kernel function filter that stops irreversible <see cref="WebPlugin"/> actions
/// unless the host approves them. It lives outside the page and outside the model's reach, so neither a page's own
/// "Approve" button nor the model can answer it.
/// </summary>
public sealed class WebConfirmationFilter : IFunctionInvocationFilter
{
    private readonly WebPlugin _plugin;
    private readonly Func<WebConfirmationRequest, CancellationToken, Task<bool>> _approve;

    /// <summary>Creates the gate for one plugin instance.</summary>
    /// <param name="plugin">The plugin whose actions are gated.</param>
    /// <param name="approve">Asks the person; true approves. Runs for every gated action.</param>
    public WebConfirmationFilter(WebPlugin plugin, Func<WebConfirmationRequest, CancellationToken, Task<bool>> approve)
    {
        _plugin = plugin ?? throw new ArgumentNullException(nameof(plugin));
        _approve = approve ?? throw new ArgumentNullException(nameof(approve));
    }

    /// <summary>Requests asked so far, with the answer (for logs and tests).</summary>
    public IReadOnlyList<(WebConfirmationRequest Request, bool Approved)> History => _history;

    private readonly List<(WebConfirmationRequest, bool)> _history = [];

    /// <inheritdoc />
    public async Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        string name = context.Function.Name;
        if (context.Function.PluginName != _plugin.Name || name is not ("click" or "type" or "select" or "press"))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        WebMark? mark = null;
        if (context.Arguments.TryGetValue("observation_id", out object? id) && context.Arguments.TryGetValue("mark", out object? m)
            && _plugin.Session.Current is { } obs && obs.Id == Convert.ToString(id, System.Globalization.CultureInfo.InvariantCulture)
            && int.TryParse(Convert.ToString(m, System.Globalization.CultureInfo.InvariantCulture), out int markId))
        {
            mark = obs.Find(markId);
        }

        bool enter = context.Arguments.TryGetValue("press_enter", out object? e) && string.Equals(Convert.ToString(e, System.Globalization.CultureInfo.InvariantCulture), "true", StringComparison.OrdinalIgnoreCase);
        string? reason = ActionRisk.Classify(name, mark, enter);
        if (reason is null && name == "type" && enter && mark is not null)
        {
            // Enter after typing submits the field's form: judge that form's wording, not only the field.
            reason = ActionRisk.ClassifyEnter(await _plugin.Session.EnterTargetAsync(_plugin.Session.Current!.Id, mark.Id).ConfigureAwait(false));
        }
        else if (name == "press" && context.Arguments.TryGetValue("key", out object? k) && IsEnter(Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture)))
        {
            // A bare Enter has no mark to judge by: read the focused element and its form from the page.
            reason = ActionRisk.ClassifyEnter(await _plugin.Session.EnterTargetAsync().ConfigureAwait(false));
        }


        if (reason is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var request = new WebConfirmationRequest(name, reason, _plugin.Session.Page.Url, mark);
        bool approved = await _approve(request, context.CancellationToken).ConfigureAwait(false);
        _history.Add((request, approved));
        if (!approved)
        {
            context.Result = new FunctionResult(context.Function,
                $"REFUSED: this action {reason}, and the user did not approve it. Do not retry it; choose another action or stop.");
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    // Playwright key names: "Enter", "NumpadEnter", chords such as "Control+Enter".
    private static bool IsEnter(string? key) =>
        key is not null && key.Split('+').Last().Trim() is var k
        && (k.Equals("Enter", StringComparison.OrdinalIgnoreCase) || k.Equals("NumpadEnter", StringComparison.OrdinalIgnoreCase) || k == "\r" || k == "\n");
}
