namespace Magma.Plugins.Web.Safety;

/// <summary>
/// The origin allow-list. Only http(s) URLs whose <c>scheme://host[:port]</c> is listed pass; <c>about:blank</c> and
/// <c>about:srcdoc</c> pass because they inherit their parent's origin. Everything else (data:, blob:, javascript:,
/// file:, chrome-error:) is refused, because those schemes are how allow-lists are usually bypassed.
/// </summary>
public sealed class OriginPolicy
{
    private readonly HashSet<string> _origins;

    /// <summary>Creates the policy from origins such as <c>https://example.com</c> or <c>http://localhost:5000</c>.</summary>
    /// <exception cref="ArgumentException">An entry is not an absolute http(s) origin.</exception>
    public OriginPolicy(IEnumerable<string> origins)
    {
        ArgumentNullException.ThrowIfNull(origins);
        _origins = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string o in origins)
        {
            if (!Uri.TryCreate(o, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException(
                    $"Allowed origin \"{o}\" is not an absolute http(s) origin; write it as scheme://host[:port], e.g. https://example.com.",
                    nameof(origins));
            }

            _origins.Add(OriginOf(uri));
        }
    }

    /// <summary>The allowed origins, normalised.</summary>
    public IReadOnlyCollection<string> Origins => _origins;

    /// <summary>Whether the page may load or navigate to <paramref name="url"/>.</summary>
    public bool IsAllowed(string url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return false;
        }

        if (url is "about:blank" or "about:srcdoc")
        {
            return true;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return false;
        }

        return _origins.Contains(OriginOf(uri));
    }

    internal static string OriginOf(Uri uri) =>
        uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";
}

/// <summary>Something the allow-list refused.</summary>
/// <param name="Kind">The channel: navigation, frame navigation, popup, fetch, xhr, image, script, websocket, worker,
/// connection (https/websocket tunnel), … as far as routing or the egress proxy can tell.</param>
/// <param name="Url">The refused URL (host:port for a tunnel), secrets redacted, shortened to 200 characters.</param>
/// <param name="At">When it was refused.</param>
public sealed record BlockedEvent(string Kind, string Url, DateTimeOffset At)
{
    /// <inheritdoc />
    public override string ToString() => $"blocked {Kind} to {Url}";
}
