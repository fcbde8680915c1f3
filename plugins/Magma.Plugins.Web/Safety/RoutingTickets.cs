using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Magma.Plugins.Web.Safety;

/// <summary>
/// Tells the egress proxy which requests page routing has already judged, so that they are not judged (and approved)
/// twice. Routing stamps such a request with a ticket in <see cref="Header"/>; the proxy strips the header before
/// anything goes upstream and lets the request pass unjudged only if the ticket was issued, is unused, and was issued
/// for the same method and URL. Everything else the proxy sees is judged there: requests routing never saw (redirect
/// hops, which inherit the header but not a usable ticket, workers), and any header a page forges.
/// </summary>
/// <remarks>
/// A ticket is single use and bound to its request: a judged request that Chromium then served from its cache leaves
/// an unused ticket that nothing else can present, because the page never sees the header and a ticket does not match
/// another method or URL. (A ledger of judged method+URL pairs, the earlier design, let a later identical request from
/// an unrouted channel through when the judged one never reached the proxy.)
/// </remarks>
internal sealed class RoutingTickets
{
    /// <summary>The request header that carries a ticket from routing to the proxy; never forwarded upstream.</summary>
    public const string Header = "X-Magma-Routed";

    // Unused tickets of requests that never reached the proxy (cache hits, aborted loads) are dropped past this count;
    // a dropped ticket only means that request is judged once more at the proxy.
    private const int MaxOutstanding = 4096;

    private readonly ConcurrentDictionary<string, string> _issued = new(StringComparer.Ordinal);

    /// <summary>A fresh ticket for a request that routing judged and lets continue.</summary>
    public string Issue(string method, string url)
    {
        if (_issued.Count >= MaxOutstanding)
        {
            _issued.Clear();
        }

        string ticket = RandomNumberGenerator.GetHexString(32, lowercase: true);
        _issued[ticket] = Key(method, url);
        return ticket;
    }

    /// <summary>Whether <paramref name="ticket"/> was issued for this method and URL and not used yet; uses it up.</summary>
    public bool Redeem(string? ticket, string method, string url) =>
        ticket is not null && _issued.TryRemove(ticket, out string? key) && key == Key(method, url);

    // Chromium sends the URL without its fragment; both sides compare scheme, authority, path and query.
    private static string Key(string method, string url) =>
        method.ToUpperInvariant() + " " + (Uri.TryCreate(url, UriKind.Absolute, out Uri? u) ? u.GetLeftPart(UriPartial.Query) : url);
}
