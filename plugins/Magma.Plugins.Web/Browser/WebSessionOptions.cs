namespace Magma.Plugins.Web.Browser;

/// <summary>How a <see cref="WebSession"/> launches Chromium and what it lets the page do.</summary>
public sealed class WebSessionOptions
{
    /// <summary>
    /// The Chromium binary. Null picks <c>MAGMA_CHROMIUM</c> from the environment, else Debian's
    /// <c>/usr/lib/chromium/chromium</c>, else <c>/usr/bin/chromium</c> (Playwright's own browser download is not used).
    /// </summary>
    public string? ExecutablePath { get; init; }

    /// <summary>Run without a window (default true).</summary>
    public bool Headless { get; init; } = true;

    /// <summary>Viewport width in CSS pixels (default 1280).</summary>
    public int ViewportWidth { get; init; } = 1280;

    /// <summary>Viewport height in CSS pixels (default 800).</summary>
    public int ViewportHeight { get; init; } = 800;

    /// <summary>Device scale factor: screenshot pixels per CSS pixel (default 1).</summary>
    public float DeviceScaleFactor { get; init; } = 1f;

    /// <summary>
    /// Origins the browser may connect to, as <c>scheme://host[:port]</c> (e.g. <c>https://example.com</c>). Enforced
    /// below the page by the session's egress proxy — every frame, redirect hop, subresource, worker, WebSocket and
    /// speculative connection — and by routing; <c>data:</c>, <c>blob:</c> and <c>javascript:</c> documents are refused
    /// too. Refusals are reported. The origins of <see cref="LocalSites"/> are always allowed.
    /// </summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>
    /// Folders served under a fake origin through request routing (no port is opened), e.g.
    /// <c>http://tasks.test</c> → <c>tests/assets/web</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> LocalSites { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Named secrets (values of 4 characters or more). The agent types <c>{{secret:NAME}}</c>; the session substitutes
    /// the value, replaces it (also URL-, form-, JSON- and HTML-encoded) by the placeholder in every string it hands out,
    /// masks every field that holds it in screenshots, and holds every request that carries it for approval.
    /// </summary>
    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Asked before a request that needs approval leaves the browser (a non-GET method, a secret in its URL or body, a URL
    /// or acting element that reads as buy/pay/order/delete/send/…) and before an action on such an element; true lets it
    /// go. Null (the default) refuses them all: the gate fails closed. Runs on a thread-pool thread; may take its time
    /// (the request waits). See docs/web.md, "Safety".
    /// </summary>
    public Func<Safety.WebApprovalRequest, CancellationToken, Task<bool>>? Approve { get; init; }

    /// <summary>After an action, wait until the DOM has been quiet this long (ms, default 150).</summary>
    public int SettleQuietMilliseconds { get; init; } = 150;

    /// <summary>Upper bound of the settle wait (ms, default 3000).</summary>
    public int SettleTimeoutMilliseconds { get; init; } = 3000;

    /// <summary>How far (CSS px) a target may have moved since the observation before an action is refused (default 4).</summary>
    public float BoxTolerance { get; init; } = 4f;

    /// <summary>
    /// Draw marks for legibility on real pages (default true): Magma's red unless the surroundings are close to red (then
    /// blue or black), label text black or white by the fill, label spots that avoid covering text. False draws exactly
    /// Magma's style (<see cref="Magma.Tasks.Marks.SetOfMarkRenderer.AdaptToBackground"/>).
    /// </summary>
    public bool AdaptiveMarks { get; init; } = true;

    /// <summary>
    /// Read the page's visible text into <see cref="Observation.WebObservation.Texts"/> (default true): runs in the viewport
    /// that nothing hides or covers, 400 at most. False skips the walk over the page's text.
    /// </summary>
    public bool ReadText { get; init; } = true;

    /// <summary>Accept JavaScript dialogs (alert/confirm/prompt) when true (default), dismiss them when false.</summary>
    public bool AcceptDialogs { get; init; } = true;

    /// <summary>Extra Chromium flags appended to the defaults; flags that touch the proxy, DNS, WebRTC or features are refused.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    internal string ResolveExecutable()
    {
        if (!string.IsNullOrEmpty(ExecutablePath))
        {
            return ExecutablePath;
        }

        string? env = Environment.GetEnvironmentVariable("MAGMA_CHROMIUM");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        return File.Exists("/usr/lib/chromium/chromium") ? "/usr/lib/chromium/chromium" : "/usr/bin/chromium";
    }
}
