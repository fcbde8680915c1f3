using System.Text.Json;
using Magma.Inference.Imaging;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Observation;
using Microsoft.Playwright;

namespace Magma.Plugins.Web.Tests;

/// <summary>
/// The observation's screenshot through CDP (marker.js prepares the page as Playwright's screenshot does, then
/// Page.captureScreenshot with optimizeForSpeed) must decode to exactly the pixels of Playwright's own screenshot.
/// </summary>
public sealed class ScreenshotTests
{
    [Fact]
    public async Task The_CDP_route_gives_the_pixels_of_Playwrights_screenshot_on_every_test_page()
    {
        const float dsf = 1f;
        await using WebSession session = await Pages.LaunchAsync(dsf);
        string[] pages = [.. Directory.GetFiles(Pages.Folder, "*.html").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];
        Assert.Contains("motion.html", pages);
        Assert.Contains("twins.html", pages);
        foreach (string page in pages)
        {
            await session.OpenAsync(Pages.Url(page));
            if (page is "motion.html" or "form.html")
            {
                // A caret: Playwright hides it; so must the preparation.
                await session.Page.Locator("input[type=text], input:not([type])").First.FocusAsync();
            }

            await AssertSameAsync(session, page, dsf);
        }
    }

    [Fact]
    public async Task Animations_and_carets_are_what_differs_without_the_preparation_and_the_page_is_restored_after()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("motion.html"));
        await session.Page.FocusAsync("#name");
        RgbImage prepared = await AssertSameAsync(session, "motion.html", 1f);

        // The page really moves: a bare capture (no preparation) differs, so the equality above is not vacuous.
        ICDPSession cdp = await session.Page.Context.NewCDPSessionAsync(session.Page);
        JsonElement? bare = await cdp.SendAsync("Page.captureScreenshot", new Dictionary<string, object> { ["format"] = "png" });
        RgbImage raw = RgbImage.Decode(Convert.FromBase64String(bare!.Value.GetProperty("data").GetString()!));
        Assert.Equal(prepared.Width, raw.Width);
        Assert.False(prepared.Span.SequenceEqual(raw.Span), "motion.html captured without preparation looks prepared: the test page does not move");

        // After the CDP-route observation, the page is as it was: carets, and infinite animations running again.
        session.CdpScreenshots = true;
        await session.ObserveAsync();
        Assert.Equal(ScreenshotRoute.Cdp, session.LastScreenshotRoute);
        string state = await session.Page.EvaluateAsync<string>(@"() => {
            const f = document.getElementById('inner').contentDocument;
            return [document.getElementById('name').style.getPropertyValue('caret-color'),
                document.getElementById('bob').getAnimations().map(a => a.playState).join(),
                f.getElementById('bob').getAnimations().map(a => a.playState).join(),
                document.getElementById('slide').getAnimations().map(a => a.playState).join()].join('|'); }");
        Assert.Equal("|running|running|finished", state);
    }

    [Fact]
    public async Task At_another_device_scale_factor_Playwrights_screenshot_is_taken()
    {
        // A CDP session of our own would capture at the screen's scale, not at the emulated one (WebSession.Screenshot.cs).
        await using WebSession session = await Pages.LaunchAsync(2f);
        await session.OpenAsync(Pages.Url("motion.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.Equal(ScreenshotRoute.Playwright, session.LastScreenshotRoute);
        Assert.Equal(1600, obs.Screenshot.Width);
        Assert.Equal(1200, obs.Screenshot.Height);
    }

    [Fact]
    public async Task A_frame_the_page_cannot_reach_takes_Playwrights_screenshot()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("motion.html"));
        // A sandboxed frame has an opaque origin: marker.js cannot prepare it, Playwright can.
        await session.Page.EvaluateAsync(@"() => new Promise(resolve => {
            const f = document.createElement('iframe');
            f.sandbox = '';
            f.srcdoc = '<style>@keyframes m { to { margin-left: 200px } } p { animation: m 2s infinite }</style><p>moving</p>';
            f.onload = () => resolve(true);
            document.body.prepend(f); })");
        session.CdpScreenshots = true;
        WebObservation obs = await session.ObserveAsync();
        Assert.Equal(ScreenshotRoute.Playwright, session.LastScreenshotRoute);
        Assert.Equal(800, obs.Screenshot.Width);
    }

    private static async Task<RgbImage> AssertSameAsync(WebSession session, string page, float dsf)
    {
        session.CdpScreenshots = true;
        WebObservation fast = await session.ObserveAsync();
        Assert.True(session.LastScreenshotRoute == ScreenshotRoute.Cdp, $"{page} at DSF {dsf}: the CDP route was not taken");
        session.CdpScreenshots = false;
        WebObservation slow = await session.ObserveAsync();
        Assert.Equal(ScreenshotRoute.Playwright, session.LastScreenshotRoute);
        session.CdpScreenshots = true;

        Assert.Equal(slow.Screenshot.Width, fast.Screenshot.Width);
        Assert.Equal(slow.Screenshot.Height, fast.Screenshot.Height);
        ReadOnlySpan<byte> a = fast.Screenshot.Span, b = slow.Screenshot.Span;
        int differing = 0, first = -1;
        for (int i = 0; i < a.Length; i += 3)
        {
            if (a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2])
            {
                differing++;
                first = first < 0 ? i / 3 : first;
            }
        }

        Assert.True(differing == 0,
            $"{page} at DSF {dsf}: {differing} pixels differ between the CDP route and Playwright's screenshot, the first at ({first % fast.Screenshot.Width}, {first / fast.Screenshot.Width})");
        return slow.Screenshot;
    }
}
