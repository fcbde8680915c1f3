using Magma.Inference.Imaging;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Marks;
using Microsoft.Playwright;

namespace Magma.Plugins.Web.Tests;

public sealed class ObservationTests
{
    [Theory]
    [InlineData(1f)]
    [InlineData(2f)]
    public async Task Every_expected_element_is_marked_exactly_once_with_its_box(float dsf)
    {
        await using WebSession session = await Pages.LaunchAsync(dsf);
        foreach (string page in Pages.Tasks.Append("popup-help.html"))
        {
            await session.OpenAsync(Pages.Url(page));
            WebObservation obs = await session.ObserveAsync();
            Assert.Equal(800 * dsf, obs.Screenshot.Width);
            Assert.Equal(600 * dsf, obs.Screenshot.Height);
            Assert.Equal(dsf, obs.DeviceScaleFactor);

            // Reference boxes from Playwright (main-frame CSS px), independent of the marker script.
            var expected = new List<LocatorBoundingBoxResult>();
            foreach (IFrame frame in session.Page.Frames)
            {
                foreach (ILocator l in await frame.Locator("[data-expect='1']").AllAsync())
                {
                    expected.Add((await l.BoundingBoxAsync())!);
                }
            }

            Assert.True(expected.Count > 0, page);
            Assert.True(expected.Count == obs.Marks.Count,
                $"{page} at DSF {dsf}: expected {expected.Count} marks, got {obs.Marks.Count}:\n{obs.MarkList()}");
            foreach (LocatorBoundingBoxResult e in expected)
            {
                var matching = obs.Marks.Where(m => Near(m.CssBox, e)).ToList();
                Assert.True(matching.Count == 1, $"{page} at DSF {dsf}: element at ({e.X},{e.Y},{e.Width}x{e.Height}) matched {matching.Count} marks:\n{obs.MarkList()}");
                WebMark m = matching[0];
                Assert.Equal(m.CssBox.X * dsf, m.PixelBox.X, 3);
                Assert.Equal(m.CssBox.Y * dsf, m.PixelBox.Y, 3);
                Assert.Equal(m.CssBox.Width * dsf, m.PixelBox.Width, 3);
                Assert.Equal(m.CssBox.Height * dsf, m.PixelBox.Height, 3);
            }

            // Numbered 0..N-1, top-to-bottom then left-to-right.
            Assert.Equal(Enumerable.Range(0, obs.Marks.Count), obs.Marks.Select(m => m.Id));
            for (int i = 1; i < obs.Marks.Count; i++)
            {
                MarkBox a = obs.Marks[i - 1].CssBox, b = obs.Marks[i].CssBox;
                Assert.True(b.Y > a.Y - 0.01f || (Math.Abs(a.Y - b.Y) < 6 && b.X > a.X), $"{page}: mark {i} is out of reading order");
            }
        }
    }

    [Fact]
    public async Task Marks_are_drawn_in_red_on_the_screenshot_at_the_element_boxes()
    {
        await using WebSession session = await Pages.LaunchAsync(2f);
        await session.OpenAsync(Pages.Url("dialog.html"));
        WebObservation obs = await session.ObserveAsync();
        WebMark reset = Assert.Single(obs.Marks, m => m.Name == "Reset preferences");
        // The outline lies inside the box edge: its left-edge column, halfway down, is pure red in the marked image only.
        int x = (int)reset.PixelBox.X, y = (int)(reset.PixelBox.Y + (reset.PixelBox.Height / 2));
        Assert.Equal((255, 0, 0), Pixel(obs.Marked, x, y));
        Assert.NotEqual((255, 0, 0), Pixel(obs.Screenshot, x, y));
    }

    [Fact]
    public async Task Occluded_disabled_and_covered_elements_are_not_marked_and_appear_after_the_overlay_goes()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("occluded.html"));
        WebObservation first = await session.ObserveAsync();
        Assert.DoesNotContain(first.Marks, m => m.Name == "Continue reading");
        WebMark accept = Assert.Single(first.Marks, m => m.Name == "Accept");
        await session.ClickAsync(first.Id, accept.Id);
        WebObservation second = await session.ObserveAsync();
        Assert.Single(second.Marks, m => m.Name == "Continue reading");

        await session.OpenAsync(Pages.Url("dialog.html"));
        WebObservation page = await session.ObserveAsync();
        await session.ClickAsync(page.Id, Assert.Single(page.Marks, m => m.Name == "Reset preferences").Id);
        WebObservation dialog = await session.ObserveAsync();
        // The modal covers the page: only the dialog's three buttons are reachable.
        Assert.Equal(["Close", "Cancel", "OK"], dialog.Marks.Select(m => m.Name).ToArray());
    }

    [Fact]
    public async Task Iframe_and_shadow_marks_carry_their_origin_and_closed_roots_stay_hidden()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("iframe.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.Equal("#promo", Assert.Single(obs.Marks, m => m.Name == "Promo code").FramePath);
        await session.OpenAsync(Pages.Url("shadow.html"));
        obs = await session.ObserveAsync();
        Assert.True(Assert.Single(obs.Marks, m => m.Name == "Like").InShadowRoot);
        Assert.DoesNotContain(obs.Marks, m => m.Name.Contains("closed", StringComparison.Ordinal));
    }

    private static bool Near(MarkBox m, LocatorBoundingBoxResult e) =>
        Math.Abs(m.X - e.X) < 0.6 && Math.Abs(m.Y - e.Y) < 0.6 && Math.Abs(m.Width - e.Width) < 0.6 && Math.Abs(m.Height - e.Height) < 0.6;

    private static (int, int, int) Pixel(RgbImage image, int x, int y)
    {
        int i = ((y * image.Width) + x) * 3;
        return (image.Span[i], image.Span[i + 1], image.Span[i + 2]);
    }
}
