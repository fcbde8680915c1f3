using Magma.Inference.Imaging;
using Magma.Inference.Tests.Imaging;
using Magma.Tasks.Marks;
using Xunit;

namespace Magma.Tasks.Tests.Marks;

public sealed class SetOfMarkRendererTests
{
    private static RgbImage White(int w, int h)
    {
        var rgb = new byte[w * h * 3];
        Array.Fill(rgb, (byte)255);
        return RgbImage.FromPixels(w, h, rgb);
    }

    private static bool IsRed((byte R, byte G, byte B) p) => p.R == 255 && p.G == 0 && p.B == 0;

    private static bool IsWhitish((byte R, byte G, byte B) p) => p.R > 200 && p.G > 200 && p.B > 200;

    [Fact]
    public void Box_outline_is_red_and_two_pixels_wide_inside_the_box()
    {
        var renderer = new SetOfMarkRenderer();
        var box = new MarkBox(50, 80, 100, 60);
        SetOfMarkResult result = renderer.Draw(White(400, 300), [box]);
        RgbImage img = result.Image;
        Assert.Equal((400, 300), (img.Width, img.Height));
        // Left edge columns 50 and 51, right edge 148 and 149, at a row away from the label.
        foreach (int x in new[] { 50, 51, 148, 149 })
        {
            Assert.True(IsRed(TestImages.Pixel(img, x, 120)), $"x={x}");
        }

        foreach (int y in new[] { 80, 81, 138, 139 })
        {
            Assert.True(IsRed(TestImages.Pixel(img, 100, y)), $"y={y}");
        }

        // Inside and just outside stay white.
        Assert.Equal(((byte)255, (byte)255, (byte)255), TestImages.Pixel(img, 100, 110));
        Assert.Equal(((byte)255, (byte)255, (byte)255), TestImages.Pixel(img, 47, 120));
        Assert.Equal(((byte)255, (byte)255, (byte)255), TestImages.Pixel(img, 152, 120));
    }

    [Fact]
    public void Label_is_a_red_rectangle_with_white_text_above_left_by_default()
    {
        var box = new MarkBox(50, 80, 100, 60);
        SetOfMarkResult result = new SetOfMarkRenderer().Draw(White(400, 300), [box]);
        MarkBox label = result.Labels[0];
        Assert.Equal(box, result.Marks[0]);
        Assert.Equal(50f, label.X);
        Assert.Equal(80f, label.Bottom);

        int red = 0, white = 0;
        for (int y = (int)label.Y; y < (int)label.Bottom; y++)
        {
            for (int x = (int)label.X; x < (int)label.Right; x++)
            {
                var p = TestImages.Pixel(result.Image, x, y);
                red += IsRed(p) ? 1 : 0;
                white += IsWhitish(p) ? 1 : 0;
            }
        }

        Assert.True(white > 10, $"white text pixels: {white}");
        Assert.True(red > white, $"red {red} vs white {white}");
    }

    [Fact]
    public void Labels_stay_inside_the_image()
    {
        RgbImage image = White(200, 150);
        MarkBox[] boxes =
        [
            new(0, 0, 40, 30),       // top-left corner: above positions leave the image
            new(170, 0, 30, 20),     // top-right corner
            new(0, 130, 50, 20),     // bottom-left
            new(160, 120, 40, 30),   // bottom-right
            new(0, 0, 200, 150),     // whole image: no spot fits, must be clamped
        ];
        SetOfMarkResult result = new SetOfMarkRenderer().Draw(image, boxes);
        Assert.Equal(5, result.Labels.Count);
        foreach (MarkBox l in result.Labels.Values)
        {
            Assert.True(l.X >= 0 && l.Y >= 0 && l.Right <= 200 && l.Bottom <= 150, l.ToString());
        }
    }

    [Fact]
    public void Label_avoids_other_boxes_when_a_free_spot_exists()
    {
        // Box B sits exactly where box A's above-left and above-right labels would go.
        var a = new MarkBox(100, 100, 80, 60);
        var b = new MarkBox(90, 40, 110, 58);
        SetOfMarkResult result = new SetOfMarkRenderer().Draw(White(400, 300), [a, b]);
        MarkBox labelA = result.Labels[0];
        Assert.Equal(0f, labelA.IntersectionArea(b));
        Assert.Equal(0f, labelA.IntersectionArea(result.Labels[1]));
        Assert.Equal(0f, result.Labels[1].IntersectionArea(a));
    }

    [Fact]
    public void Negative_boxes_are_dropped_and_numbering_follows_kept_boxes()
    {
        MarkBox[] boxes = [new(10, 40, 20, 20), new(50, 40, -5, 20), new(100, 40, 20, 20)];
        SetOfMarkResult zero = new SetOfMarkRenderer().Draw(White(200, 100), boxes);
        Assert.Equal([0, 1], zero.Marks.Keys.Order());
        Assert.Equal(boxes[2], zero.Marks[1]);

        SetOfMarkResult one = new SetOfMarkRenderer().Draw(White(200, 100), boxes, MarkNumbering.OneBased);
        Assert.Equal([1, 2], one.Marks.Keys.Order());
        Assert.Equal(boxes[0], one.Marks[1]);
    }

    [Fact]
    public void Font_size_starts_at_20_and_grows_with_the_image()
    {
        Assert.Equal(20f, SetOfMarkRenderer.FontSize(200, 200));
        float big = SetOfMarkRenderer.FontSize(1280, 720);
        Assert.InRange(big, 21f, 60f);
        Assert.True(SetOfMarkRenderer.FontSize(1920, 1080) >= big);
    }

    [Fact]
    public void Png_output_decodes_back()
    {
        SetOfMarkResult result = new SetOfMarkRenderer().Draw(White(64, 64), [new MarkBox(20, 30, 20, 20)]);
        RgbImage decoded = RgbImage.Decode(result.EncodePng());
        Assert.Equal(result.Image.Pixels.ToArray(), decoded.Pixels.ToArray());
    }
}
