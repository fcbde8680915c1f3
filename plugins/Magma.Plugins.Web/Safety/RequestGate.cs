using System.Text.RegularExpressions;

namespace Magma.Plugins.Web.Safety;

/// <summary>A request the session holds until the host approves it (nothing of it has been sent).</summary>
/// <param name="Action">The agent's action it came from (e.g. <c>click [7] button: Continue</c>), or <c>page</c> when the page sent it on its own.</param>
/// <param name="Reason">Why it needs approval, e.g. <c>sends a POST form submission</c>.</param>
/// <param name="Method">HTTP method; empty for an action asked about before it runs.</param>
/// <param name="Url">Target URL with secrets replaced by their placeholders; empty for an action asked about before it runs.</param>
/// <param name="Channel">navigation, frame navigation, fetch, xhr, ping, websocket, … or <c>action</c>.</param>
public sealed record WebApprovalRequest(string Action, string Reason, string Method, string Url, string Channel);

/// <summary>What the agent is doing while requests leave: its description and the acting element's current names.</summary>
/// <param name="Description">The action as reported.</param>
/// <param name="ActingNames">Names of the element that acts (re-read from the page at action time) and, for Enter, of its form's submit controls.</param>
/// <param name="Approved">The host approved the action itself up front, so its consequences need no second approval (secrets excepted).</param>
internal sealed record ActionScope(string Description, IReadOnlyList<string> ActingNames, bool Approved);

/// <summary>
/// The approval gate, judged at the moment a request leaves (Playwright routing, and the egress proxy for requests routing
/// never sees). A request needs approval when (a) its method is not GET/HEAD/OPTIONS (form submissions, fetch POST,
/// beacons), (b) its URL, a header or its body carries a secret's value in any encoding, (c) it is a navigation or a script request
/// (fetch, XHR, ping, event stream, WebSocket) whose URL reads as an irreversible action, or that was set off by an
/// action whose element currently reads as one. GET navigations and static subresources inside the allowed origins pass.
/// Without an approver every such request is refused: the gate fails closed.
/// </summary>
internal sealed partial class RequestGate
{
    private static readonly HashSet<string> SafeMethods = new(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "OPTIONS" };
    private static readonly HashSet<string> StaticTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "image", "stylesheet", "script", "font", "media", "texttrack", "manifest",
    };

    private readonly SecretRedactor _redactor;

    public RequestGate(SecretRedactor redactor, Func<WebApprovalRequest, CancellationToken, Task<bool>>? approve)
    {
        _redactor = redactor;
        Approver = approve;
    }

    /// <summary>The host's callback; null refuses everything that needs approval.</summary>
    public Func<WebApprovalRequest, CancellationToken, Task<bool>>? Approver { get; set; }

    /// <summary>Why this request needs approval, or null.</summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="url">Absolute URL.</param>
    /// <param name="headers">Request headers as far as the judging layer sees them (routing: without cookies; the proxy: all, over plain HTTP).</param>
    /// <param name="body">Request body as text (empty when none).</param>
    /// <param name="channel">Resource type or proxy channel; "image", "script", … are static subresources.</param>
    /// <param name="navigation">A document load of any frame.</param>
    /// <param name="scope">The action in progress, if any.</param>
    public string? Judge(string method, string url, IEnumerable<KeyValuePair<string, string>> headers, string body, string channel, bool navigation,
        ActionScope? scope)
    {
        if (_redactor.Find(url) is { } inUrl)
        {
            return $"its URL carries the secret \"{inUrl}\"";
        }

        foreach ((string name, string value) in headers)
        {
            // Referer repeats the URL of the page that sends it, which was judged when that page loaded.
            if (!name.Equals("Referer", StringComparison.OrdinalIgnoreCase) && _redactor.Find(value) is { } inHeader)
            {
                return $"its {name} header carries the secret \"{inHeader}\"";
            }
        }

        if (_redactor.Find(body) is { } inBody)
        {
            return $"its body carries the secret \"{inBody}\"";
        }

        if (scope?.Approved == true)
        {
            return null;
        }

        if (!SafeMethods.Contains(method))
        {
            return navigation ? $"submits a form with {method.ToUpperInvariant()}" : $"sends a {method.ToUpperInvariant()} request";
        }

        bool active = navigation || !StaticTypes.Contains(channel.Split(' ')[0]);
        if (!active)
        {
            return null;
        }

        if (IrreversibleWord(UrlWords(url)) is { } word)
        {
            return $"its URL reads as an irreversible action (\"{word}\")";
        }

        return scope is null ? null : ActorReason(scope.ActingNames) is { } why ? "it was set off by " + why : null;
    }

    /// <summary>Why an action whose element has these current names needs approval before it runs, or null.</summary>
    public static string? ActorReason(IEnumerable<string> names)
    {
        foreach (string n in names)
        {
            if (n.Length > 0 && (IrreversibleWord(n) ?? SignInWord(n)) is { } word)
            {
                return $"an element named \"{Clip(n)}\", which reads as an irreversible action (\"{word}\")";
            }
        }

        return null;
    }

    /// <summary>Asks the host; false (refused) when there is no approver or it fails.</summary>
    public async Task<(bool Approved, string Note)> AskAsync(WebApprovalRequest request, CancellationToken cancellationToken)
    {
        Func<WebApprovalRequest, CancellationToken, Task<bool>>? approve = Approver;
        if (approve is null)
        {
            return (false, "no approver is configured (WebSessionOptions.Approve or a WebConfirmationFilter), so the gate refuses");
        }

        try
        {
            return await approve(request, cancellationToken).ConfigureAwait(false) ? (true, "approved") : (false, "the user did not approve it");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The gate fails closed: an approver that throws has not approved.
            return (false, "the approver failed (" + e.GetType().Name + ")");
        }
    }

    // "/checkout/place_order?confirm=1" → "checkout place order confirm=1": separators and camel case become word breaks.
    internal static string UrlWords(string url)
    {
        string text = Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) ? uri.AbsolutePath + " " + uri.Query : url;
        try
        {
            text = Uri.UnescapeDataString(text);
        }
        catch (UriFormatException)
        {
            // Keep the escaped form.
        }

        return CamelBreak().Replace(text, "$1 $2").Replace('_', ' ').Replace('-', ' ').Replace('+', ' ');
    }

    internal static string? IrreversibleWord(string text) => Irreversible().Match(text) is { Success: true } m ? m.Value : null;

    private static string? SignInWord(string text) => SignIn().Match(text) is { Success: true } m ? m.Value : null;

    private static string Clip(string s) => s.Length <= 80 ? s : s[..79] + "…";

    [GeneratedRegex(@"([a-z])([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex CamelBreak();

    [GeneratedRegex(@"\b(sign ?in|log ?in|sign ?up|register|create account)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SignIn();

    [GeneratedRegex(@"\b(buy|purchase|pay|payment|order|checkout|check ?out|delete|remove|erase|destroy|send|submit|confirm|transfer|publish|post|unsubscribe|sign ?out|log ?out|place|cancel subscription)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Irreversible();
}
