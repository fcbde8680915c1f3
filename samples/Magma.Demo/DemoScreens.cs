using Magma.Inference.Imaging;
using Magma.Tasks.Marks;
using SkiaSharp;

namespace Magma.Demo;

/// <summary>Screens for the demo: a drawn login page, or candidate boxes for a user's own screenshot.</summary>
internal static class DemoScreens
{
    /// <summary>A 1280x720 login page drawn with Skia, with the boxes of its interactive elements.</summary>
    public static (RgbImage Screenshot, IReadOnlyList<MarkBox> Boxes, string Source) LoginPage()
    {
        const int Width = 1280, Height = 720;
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(new SKColor(245, 247, 250));

        var boxes = new List<MarkBox>();
        using var fill = new SKPaint { IsAntialias = true };
        using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 2, Color = new SKColor(180, 185, 195) };

        // Header bar with three links.
        fill.Color = new SKColor(32, 56, 100);
        canvas.DrawRect(0, 0, Width, 64, fill);
        for (int i = 0; i < 3; i++)
        {
            var link = new MarkBox(860 + (i * 130), 18, 110, 28);
            fill.Color = new SKColor(80, 110, 160);
            canvas.DrawRoundRect(link.X, link.Y, link.Width, link.Height, 6, 6, fill);
            boxes.Add(link);
        }

        // The login card: two fields and a button.
        fill.Color = SKColors.White;
        canvas.DrawRoundRect(440, 160, 400, 400, 12, 12, fill);
        canvas.DrawRoundRect(440, 160, 400, 400, 12, 12, stroke);
        foreach (float y in new[] { 260f, 340f })
        {
            var field = new MarkBox(480, y, 320, 48);
            canvas.DrawRoundRect(field.X, field.Y, field.Width, field.Height, 6, 6, stroke);
            boxes.Add(field);
        }
        var button = new MarkBox(480, 430, 320, 56);
        fill.Color = new SKColor(0, 120, 212);
        canvas.DrawRoundRect(button.X, button.Y, button.Width, button.Height, 8, 8, fill);
        boxes.Add(button);

        using SKImage snapshot = surface.Snapshot();
        using SKData png = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return (RgbImage.Decode(png.AsSpan(), sourceName: "drawn login page"), boxes, "drawn login page");
    }

    /// <summary>For a user's screenshot (no detector here): a coarse 4x3 grid of candidate boxes.</summary>
    public static IReadOnlyList<MarkBox> GridCandidates(RgbImage image)
    {
        var boxes = new List<MarkBox>();
        float w = image.Width / 4f, h = image.Height / 3f;
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 4; c++)
            {
                boxes.Add(new MarkBox((c * w) + (w * 0.1f), (r * h) + (h * 0.1f), w * 0.8f, h * 0.8f));
            }
        }
        return boxes;
    }

    /// <summary>The mark number that the renderer gave to <paramref name="box"/>.</summary>
    public static int MarkNear(SetOfMarkResult marked, MarkBox box) =>
        marked.Marks.OrderBy(m => Math.Abs(m.Value.X - box.X) + Math.Abs(m.Value.Y - box.Y)).Select(m => m.Key).FirstOrDefault();
}
