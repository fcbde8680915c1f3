using System.Numerics;
using Magma.Inference.Imaging;
using SkiaSharp;

namespace Magma.Tasks.Marks;

/// <summary>A numbered mark on a robot/video frame, with an optional trace (its positions over time) in pixels.</summary>
/// <param name="Number">The number drawn in the mark (1-based in Magma's robotics and video data).</param>
/// <param name="Position">Where the mark is drawn (the trace's start point in the reference data).</param>
/// <param name="Trace">Optional positions over time, drawn as a polyline under the marks.</param>
public sealed record TraceMark(int Number, Vector2 Position, IReadOnlyList<Vector2>? Trace = null);

/// <summary>
/// Draws Trace-of-Mark prompts in Magma's style (spec §7.3): each mark is a filled red circle with its white number,
/// sized from a font that grows until the rendered "55" is at least 3% of the image width; traces are polylines.
/// </summary>
/// <remarks>Instances are immutable after construction and thread-safe.</remarks>
public sealed class TraceRenderer
{
    // matplotlib tab10: distinct colours so traces of different marks can be told apart.
    private static readonly SKColor[] Palette =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];

    /// <summary>Trace line width in pixels; 0 (default) means max(2, image width / 128).</summary>
    public float TraceLineWidth { get; init; }

    /// <summary>
    /// Draws traces (if any) and then marks onto a copy of <paramref name="image"/>.
    /// </summary>
    /// <param name="image">The frame.</param>
    /// <param name="marks">Marks to draw; traces with fewer than 2 points draw no line.</param>
    public RgbImage Draw(RgbImage image, IReadOnlyList<TraceMark> marks)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(marks);
        using SKBitmap bitmap = image.ToBitmap();
        using (var canvas = new SKCanvas(bitmap))
        {
            float lineWidth = TraceLineWidth > 0 ? TraceLineWidth : MathF.Max(2f, image.Width / 128f);
            for (int i = 0; i < marks.Count; i++)
            {
                IReadOnlyList<Vector2>? trace = marks[i].Trace;
                if (trace is not { Count: >= 2 })
                {
                    continue;
                }

                using var builder = new SKPathBuilder();
                builder.MoveTo(trace[0].X, trace[0].Y);
                for (int k = 1; k < trace.Count; k++)
                {
                    builder.LineTo(trace[k].X, trace[k].Y);
                }

                using SKPath path = builder.Detach();

                using var line = new SKPaint
                {
                    Color = Palette[i % Palette.Length],
                    IsAntialias = true,
                    Style = SKPaintStyle.Stroke,
                    StrokeWidth = lineWidth,
                    StrokeCap = SKStrokeCap.Round,
                    StrokeJoin = SKStrokeJoin.Round,
                };
                canvas.DrawPath(path, line);
            }

            using SKFont font = BundledFont.CreateFont(FontSize(image.Width));
            using var fill = new SKPaint { Color = new SKColor(255, 0, 0), IsAntialias = true, Style = SKPaintStyle.Fill };
            using var text = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.Fill };
            foreach (TraceMark mark in marks)
            {
                string label = mark.Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
                (int tw, int th) = BundledFont.TextSize(font, label);
                float px = mark.Position.X, py = mark.Position.Y;
                // Reference geometry: circle radius max(text)//2 + 1 around the point, text box centred and lifted 3 px.
                float r = (Math.Max(tw, th) / 2) + 1;
                canvas.DrawOval(new SKRect(px - r, py - r, px + r + 1, py + r + 1), fill);
                BundledFont.DrawText(canvas, label, px - (tw / 2), py - (th / 2) - 3, font, text);
            }
        }

        return RgbImage.FromBitmap(bitmap);
    }

    /// <summary>Mark font size for an image width: grows from 1 until min(width, height) of the rendered "55" ≥ 3% of the width.</summary>
    public static float FontSize(int imageWidth)
    {
        float target = 0.03f * imageWidth;
        int size = 1;
        while (size < 400)
        {
            using SKFont font = BundledFont.CreateFont(size);
            (int w, int h) = BundledFont.TextSize(font, "55");
            if (Math.Min(w, h) >= target)
            {
                break;
            }

            size++;
        }

        return size;
    }
}
