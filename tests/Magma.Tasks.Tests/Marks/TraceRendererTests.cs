using System.Numerics;
using Magma.Inference.Imaging;
using Magma.Inference.Tests.Imaging;
using Magma.Tasks.Marks;
using Xunit;

namespace Magma.Tasks.Tests.Marks;

public sealed class TraceRendererTests
{
    private static RgbImage Black(int w, int h) => RgbImage.FromPixels(w, h, new byte[w * h * 3]);

    [Fact]
    public void Marks_are_red_discs_with_white_numbers()
    {
        RgbImage img = new TraceRenderer().Draw(Black(400, 400), [new TraceMark(7, new Vector2(100, 100))]);
        float size = TraceRenderer.FontSize(400);
        int red = 0, white = 0;
        for (int y = 80; y <= 120; y++)
        {
            for (int x = 80; x <= 120; x++)
            {
                var p = TestImages.Pixel(img, x, y);
                red += p.R == 255 && p.G == 0 && p.B == 0 ? 1 : 0;
                white += p.R > 200 && p.G > 200 && p.B > 200 ? 1 : 0;
            }
        }

        Assert.True(red > 50, $"red {red}");
        Assert.True(white > 5, $"white {white}");
        // Far away stays black.
        Assert.Equal(((byte)0, (byte)0, (byte)0), TestImages.Pixel(img, 300, 300));
        Assert.True(size > 1);
    }

    [Fact]
    public void Font_grows_until_55_is_three_percent_of_width()
    {
        float small = TraceRenderer.FontSize(100);
        float large = TraceRenderer.FontSize(1000);
        Assert.True(large > small);
        // 3% of 1000 px = 30 px for the smaller side of "55" (its height), which needs a font of at least ~30.
        Assert.InRange(large, 25f, 45f);
    }

    [Fact]
    public void Traces_are_drawn_as_polylines()
    {
        var trace = new[] { new Vector2(50, 300), new Vector2(350, 300), new Vector2(350, 50) };
        RgbImage img = new TraceRenderer { TraceLineWidth = 4 }.Draw(Black(400, 400), [new TraceMark(1, trace[0], trace)]);
        var mid = TestImages.Pixel(img, 200, 300);
        var corner = TestImages.Pixel(img, 350, 150);
        Assert.True(mid.R + mid.G + mid.B > 100, $"{mid}");
        Assert.True(corner.R + corner.G + corner.B > 100, $"{corner}");
        Assert.Equal(((byte)0, (byte)0, (byte)0), TestImages.Pixel(img, 200, 200));
    }
}
