using System.Text.Json;
using Microsoft.Playwright;

namespace Magma.Plugins.Web.Browser;

/// <summary>How an observation's screenshot was taken.</summary>
internal enum ScreenshotRoute
{
    /// <summary>Playwright's <c>page.screenshot</c> (caret hidden, animations disabled, device scale).</summary>
    Playwright,

    /// <summary>The page prepared by marker.js as Playwright prepares it, then CDP <c>Page.captureScreenshot</c> with <c>optimizeForSpeed</c>.</summary>
    Cdp,
}

// The observation's screenshot. Playwright's page.screenshot spends most of an observation in Chromium's PNG encoding;
// CDP's Page.captureScreenshot with optimizeForSpeed encodes the same pixels faster (a larger PNG; docs/perf.md,
// "Screenshot through CDP"). Playwright's screenshot, for our options, is: in every frame, carets made transparent and
// finite animations finished / infinite ones cancelled (also those that start meanwhile), the top document's fonts
// awaited, Page.getLayoutMetrics for the visual viewport, Page.captureScreenshot of that clip at scale 1 (device
// pixels), then the frames restored. marker.js does the same preparation at the end of the observation's own page call
// (prepareShot, no extra round trip) and says whether it reached every frame; only then is the capture taken here, and
// restoreShot runs while the PNG is decoded. Anything else (a cross-origin frame, a font still loading, a zoomed visual
// viewport, a device scale factor other than 1, a CDP error or an image of another size, a browser that is not
// Chromium) takes Playwright's screenshot as before. The CDP session is one more session on Playwright's own connection
// to the browser, attached to the page target: no new channel to any origin, and it is used for nothing but the capture.
public sealed partial class WebSession
{
    private static readonly PageScreenshotOptions PlaywrightShot = new()
    {
        Type = ScreenshotType.Png,
        Animations = ScreenshotAnimations.Disabled,
        Caret = ScreenshotCaret.Hide,
        Scale = ScreenshotScale.Device,
    };

    private static readonly TimeSpan CaptureTimeout = TimeSpan.FromSeconds(30);

    private ICDPSession? _cdp;
    private IPage? _cdpPage;

    /// <summary>Whether observations may take the CDP route (tests turn it off to take Playwright's screenshot of the same page).</summary>
    internal bool CdpScreenshots { get; set; } = true;

    /// <summary>The route the last observation's screenshot took.</summary>
    internal ScreenshotRoute LastScreenshotRoute { get; private set; }

    // Only where the route can be taken (see Covered): otherwise the page is not prepared at all.
    private bool WantsCdpScreenshot => CdpScreenshots && _options.DeviceScaleFactor == 1f
        && string.Equals(_browser.BrowserType.Name, "chromium", StringComparison.Ordinal);

    /// <summary>
    /// The viewport's PNG for an observation whose page call was <paramref name="raw"/>; with it, the page's restore when
    /// the page was prepared (await it after decoding: it overlaps the decode).
    /// </summary>
    private async Task<(byte[] Png, Task Restored)> CaptureAsync(IPage page, JsonElement raw)
    {
        if (raw.TryGetProperty("shot", out JsonElement shot) && shot.ValueKind == JsonValueKind.Object)
        {
            // The page that was prepared; a new tab that became the active page meanwhile gets Playwright's screenshot.
            byte[]? png = ReferenceEquals(page, _page) && Covered(page, raw, shot) ? await CdpCaptureAsync(page).ConfigureAwait(false) : null;
            Task restored = RestoreAsync(page);
            if (png is not null)
            {
                LastScreenshotRoute = ScreenshotRoute.Cdp;
                return (png, restored);
            }

            // Playwright's preparation reads each caret's inline style to restore it later: ours must be undone first.
            await restored.ConfigureAwait(false);
        }

        LastScreenshotRoute = ScreenshotRoute.Playwright;
        return (await _page.ScreenshotAsync(PlaywrightShot).ConfigureAwait(false), Task.CompletedTask);
    }

    // Whether marker.js's preparation covered what Playwright's would: every frame Playwright knows reached, none opaque,
    // the top document's fonts loaded, an unzoomed visual viewport (Playwright's clip is then the viewport itself, which
    // is what the capture without a clip takes). At a device scale factor other than 1 the CDP route is not taken: the
    // scale is Playwright's emulation on its own CDP session, and a capture from another session renders at the
    // screen's scale (800 px wide for 1600, measured), so only Playwright's session can take that screenshot.
    private bool Covered(IPage page, JsonElement raw, JsonElement shot) =>
        _options.DeviceScaleFactor == 1f
        && raw.TryGetProperty("dpr", out JsonElement dpr) && dpr.ValueKind == JsonValueKind.Number && dpr.GetDouble() == 1
        && shot.TryGetProperty("docs", out JsonElement docs) && docs.ValueKind == JsonValueKind.Number && docs.GetInt32() >= page.Frames.Count
        && shot.TryGetProperty("opaque", out JsonElement opaque) && opaque.ValueKind == JsonValueKind.Number && opaque.GetInt32() == 0
        && shot.TryGetProperty("fonts", out JsonElement fonts) && fonts.ValueKind == JsonValueKind.True
        && shot.TryGetProperty("scale", out JsonElement scale) && scale.ValueKind == JsonValueKind.Number && scale.GetDouble() == 1;

    // A PNG's size from its header (signature, then the IHDR chunk: width and height big-endian at bytes 16 and 20).
    private static bool PngSize(byte[] png, int width, int height) =>
        png.Length > 24
        && System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)) == width
        && System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)) == height;

    private async Task<byte[]?> CdpCaptureAsync(IPage page)
    {
        try
        {
            if (_cdp is null || !ReferenceEquals(_cdpPage, page))
            {
                ICDPSession? old = _cdp;
                _cdp = null;
                if (old is not null)
                {
                    try
                    {
                        await old.DetachAsync().ConfigureAwait(false);
                    }
                    catch (PlaywrightException)
                    {
                        // Its page is gone, and the session with it.
                    }
                }

                _cdp = await page.Context.NewCDPSessionAsync(page).ConfigureAwait(false);
                _cdpPage = page;
            }

            // Playwright's screenshot gives up after its default timeout (30 s, a renderer that stopped answering); so does
            // this capture, and Playwright's screenshot then decides as before.
            JsonElement? result = await _cdp.SendAsync("Page.captureScreenshot", new Dictionary<string, object>
            {
                ["format"] = "png",
                ["captureBeyondViewport"] = false,
                // No clip: the visible viewport, which is Playwright's clip at scale 1. Only the encoding is faster.
                ["optimizeForSpeed"] = true,
            }).WaitAsync(CaptureTimeout).ConfigureAwait(false);
            // Straight from the JSON's base64 to bytes, without the 130 KB string between.
            byte[]? png = result is { } r && r.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.String
                && data.TryGetBytesFromBase64(out byte[]? bytes) ? bytes : null;
            // Not the viewport at its size (an emulation this route does not know of): Playwright's screenshot instead.
            return png is not null && page.ViewportSize is { } size && PngSize(png, size.Width, size.Height) ? png : null;
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException)
        {
            // The page closed or navigated, CDP refused, or no answer: Playwright's screenshot decides what that means.
            _cdp = null;
            _cdpPage = null;
            return null;
        }
    }

    private static async Task RestoreAsync(IPage page)
    {
        try
        {
            await page.EvaluateAsync("() => window.__magmaSom && window.__magmaSom.restoreShot()").ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
            // The document went away, and its prepared state with it (Playwright ignores a failed restore too).
        }
    }
}
