namespace Magma.Plugins.Web.Browser;

/// <summary>
/// Chromium's command line: every connection through the session's egress proxy (loopback included), no DNS of its
/// own, WebRTC limited to proxied traffic (an HTTP proxy carries no UDP, so none is sent), speculative loading off.
/// </summary>
internal static class ChromiumArguments
{
    // Playwright 1.64's own --disable-features list (chromiumSwitches.ts) is repeated here because Chromium honours only
    // the last --disable-features switch; ours adds the speculative loaders.
    private static readonly string[] DisabledFeatures =
    [
        "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "DialMediaRouteProvider", "GlobalMediaControls",
        "HttpsUpgrades", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
        "BlockOriginHeaderModificationOnRedirect", "AvoidCorsURLLoaderRestartOnRedirect", "Translate", "AutoDeElevate",
        "OptimizationHints", "NetworkTimeServiceQuerying", "AimEnabled",
        // Chromium's own calls home, refused by the proxy anyway but reported as if the page had made them.
        "AutofillServerCommunication",
        // Speculative loading: prerendering runs a page's scripts before anyone asked for it.
        "Prerender2", "SpeculationRulesPrefetchFuture", "NavigationPredictor", "PreconnectToSearch", "NoStatePrefetchHoldback",
    ];

    // Flags that would reopen a route around the proxy, so ExtraArguments may not carry them.
    private static readonly string[] Reserved =
    [
        "--proxy-server", "--proxy-bypass-list", "--no-proxy-server", "--proxy-auto-detect", "--proxy-pac-url", "--host-resolver-rules",
        "--host-rules", "--force-webrtc-ip-handling-policy", "--webrtc-ip-handling-policy", "--enable-features", "--disable-features",
    ];

    /// <exception cref="ArgumentException">An extra argument touches the proxy, DNS, WebRTC or feature flags.</exception>
    public static List<string> Build(string proxy, IReadOnlyList<string> extra)
    {
        foreach (string a in extra)
        {
            if (Reserved.FirstOrDefault(r => a.Equals(r, StringComparison.OrdinalIgnoreCase) || a.StartsWith(r + "=", StringComparison.OrdinalIgnoreCase)) is { } flag)
            {
                throw new ArgumentException(
                    $"WebSessionOptions.ExtraArguments: \"{a}\" is refused: {flag} is set by the session to keep every connection inside the allow-list. Remove it.",
                    nameof(extra));
            }
        }

        var args = new List<string>
        {
            "--proxy-server=" + proxy,
            // Chromium bypasses proxies for loopback unless told not to; the subtraction rule sends loopback through it too.
            "--proxy-bypass-list=<-loopback>",
            // The proxy resolves names; Chromium resolving any itself (DNS prefetch, a direct socket) is a leak channel.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--dns-prefetch-disable",
            "--disable-quic",
            "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", "--mute-audio", "--no-pings",
            "--disable-features=" + string.Join(',', DisabledFeatures),
        };
        if (Environment.UserName == "root")
        {
            args.Add("--no-sandbox");
        }

        args.AddRange(extra);
        return args;
    }
}
