using Magma.Inference.Imaging;
using Magma.Tasks.Decoding;
using SkiaSharp;

namespace Magma.Cli.Commands;

/// <summary>Draws a grounded target (box outline when known, and a crosshair ring at the click point) on a copy of the screenshot.</summary>
internal static class TargetMarker
{
    /// <summary>Returns the screenshot with the target drawn, encoded as PNG.</summary>
    public static byte[] Draw(RgbImage screenshot, UiTarget target)
    {
        SKRect? box = target.Box is { } b
            ? SKRect.Create((float)(b.X1 * screenshot.Width), (float)(b.Y1 * screenshot.Height),
                (float)((b.X2 - b.X1) * screenshot.Width), (float)((b.Y2 - b.Y1) * screenshot.Height))
            : null;
        return Draw(screenshot, target.Pixel.X, target.Pixel.Y, box);
    }

    /// <summary>Returns the screenshot with a click point (and a box in pixels, when known) drawn, encoded as PNG.</summary>
    public static byte[] Draw(RgbImage screenshot, double pixelX, double pixelY, SKRect? pixelBox)
    {
        using SKBitmap bitmap = new(screenshot.Width, screenshot.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        ReadOnlySpan<byte> rgb = screenshot.Span;
        for (int y = 0; y < screenshot.Height; y++)
        {
            for (int x = 0; x < screenshot.Width; x++)
            {
                int i = ((y * screenshot.Width) + x) * 3;
                bitmap.SetPixel(x, y, new SKColor(rgb[i], rgb[i + 1], rgb[i + 2]));
            }
        }

        // Size the marks to the image so they stay visible on a 4K screenshot and do not swamp a thumbnail.
        float scale = Math.Max(2f, Math.Min(screenshot.Width, screenshot.Height) / 200f);
        using (SKCanvas canvas = new(bitmap))
        using (SKPaint paint = new() { Color = new SKColor(255, 0, 64), IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = scale })
        {
            if (pixelBox is { } box)
            {
                canvas.DrawRect(box, paint);
            }

            float x = (float)pixelX, y = (float)pixelY, r = 6 * scale;
            canvas.DrawCircle(x, y, r, paint);
            canvas.DrawLine(x - (2 * r), y, x + (2 * r), y, paint);
            canvas.DrawLine(x, y - (2 * r), x, y + (2 * r), paint);
        }

        using SKImage image = SKImage.FromBitmap(bitmap);
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
