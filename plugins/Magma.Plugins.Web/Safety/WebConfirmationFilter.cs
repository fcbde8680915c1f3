using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Safety;

/// <summary>A request for a person's approval of an irreversible web action or request.</summary>
/// <param name="Function">What the agent was doing: click, type, press, open, … or <c>page</c> when the page acted on its own.</param>
/// <param name="Reason">Why it needs approval, e.g. <c>submits a form with POST</c> or <c>its URL carries the secret "pw"</c>.</param>
/// <param name="Url">The request's URL (secrets redacted), or the page's URL for an action asked about before it runs.</param>
/// <param name="Mark">Always null since the gate moved to the request layer; kept for source compatibility.</param>
public sealed record WebConfirmationRequest(string Function, string Reason, string Url, WebMark? Mark);

/// <summary>
/// Connects the host's approval callback to the session's gate. The decision point is the session itself
/// (<see cref="Browser.WebSession.Approver"/>): requests are judged and held where they leave the browser, so every path
/// that acts — kernel functions, <c>do_task</c> (including its point clicks), keys, scripts a click sets off — is covered,
/// whether or not it runs through the kernel. This filter only installs the callback when it is created and passes
/// function calls through; a denied request shows up in the function's result as <c>REFUSED …</c>.
/// </summary>
public sealed class WebConfirmationFilter : IFunctionInvocationFilter
{
    private readonly List<(WebConfirmationRequest, bool)> _history = [];
    private readonly Lock _sync = new();

    /// <summary>Installs <paramref name="approve"/> as the approver of <paramref name="plugin"/>'s session.</summary>
    /// <param name="plugin">The plugin whose session is gated.</param>
    /// <param name="approve">Asks the person; true approves. Runs for every request or action that needs approval.</param>
    public WebConfirmationFilter(WebPlugin plugin, Func<WebConfirmationRequest, CancellationToken, Task<bool>> approve)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        ArgumentNullException.ThrowIfNull(approve);
        var session = plugin.Session;
        session.Approver = async (request, ct) =>
        {
            var asked = new WebConfirmationRequest(request.Action.Split(' ')[0], request.Reason, request.Url.Length > 0 ? request.Url : session.Redact(session.Page.Url), null);
            bool approved = await approve(asked, ct).ConfigureAwait(false);
            lock (_sync)
            {
                _history.Add((asked, approved));
            }

            return approved;
        };
    }

    /// <summary>Requests asked so far, with the answer (for logs and tests).</summary>
    public IReadOnlyList<(WebConfirmationRequest Request, bool Approved)> History
    {
        get { lock (_sync) { return [.. _history]; } }
    }

    /// <inheritdoc />
    public Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return next(context);
    }
}
