using Magma.Inference.Imaging;
using Magma.Inference.Tests.Imaging;
using Magma.Tasks.Marks;
using Xunit;

namespace Magma.Tasks.Tests.Marks;

/// <summary><see cref="SetOfMarkRenderer.AdaptToBackground"/>: off keeps Magma's style; on picks colours and spots per background.</summary>
public sealed class SetOfMarkAdaptiveTests
{
    private static RgbImage Page(Action<byte[], int> paint, int w = 400, int h = 300)
    {
        var rgb = new byte[w * h * 3];
        Array.Fill(rgb, (byte)255);
        paint(rgb, w);
        return RgbImage.FromPixels(w, h, rgb);
    }

    private static void Fill(byte[] rgb, int w, int x0, int y0, int x1, int y1, byte r, byte g, byte b)
    {
        for (int y = y0; y < y1; y++)
        {
            for (int x = x0; x < x1; x++)
            {
                int o = ((y * w) + x) * 3;
                (rgb[o], rgb[o + 1], rgb[o + 2]) = (r, g, b);
            }
        }
    }

    [Fact]
    public void A_mark_on_a_red_bar_is_drawn_in_a_colour_that_stands_out_and_stays_red_by_default()
    {
        RgbImage bar = Page((rgb, w) => Fill(rgb, w, 0, 40, 400, 200, 200, 20, 20));
        var box = new MarkBox(50, 80, 100, 60);

        var magma = TestImages.Pixel(new SetOfMarkRenderer().Draw(bar, [box]).Image, 50, 110);
        Assert.Equal(((byte)255, (byte)0, (byte)0), magma);

        var adaptive = TestImages.Pixel(new SetOfMarkRenderer { AdaptToBackground = true }.Draw(bar, [box]).Image, 50, 110);
        Assert.Equal(((byte)0, (byte)64, (byte)255), adaptive);

        // On white, the adaptive style is Magma's red.
        RgbImage white = Page((_, _) => { });
        Assert.Equal(((byte)255, (byte)0, (byte)0), TestImages.Pixel(new SetOfMarkRenderer { AdaptToBackground = true }.Draw(white, [box]).Image, 50, 110));
    }

    [Fact]
    public void Labels_avoid_covering_text_when_adapting_and_keep_the_reference_spot_otherwise()
    {
        // Dark "text" exactly where the default above-left label goes.
        var ink = new MarkBox(40, 40, 70, 40);
        RgbImage page = Page((rgb, w) =>
        {
            for (int x = 40; x < 110; x += 3)
            {
                Fill(rgb, w, x, 40, x + 2, 80, 0, 0, 0);
            }
        });
        var box = new MarkBox(50, 80, 100, 60);

        MarkBox reference = new SetOfMarkRenderer().Draw(page, [box]).Labels[0];
        Assert.Equal(50f, reference.X);
        Assert.Equal(80f, reference.Bottom);

        MarkBox adaptive = new SetOfMarkRenderer { AdaptToBackground = true }.Draw(page, [box]).Labels[0];
        Assert.Equal(0f, adaptive.IntersectionArea(ink));
    }
}
