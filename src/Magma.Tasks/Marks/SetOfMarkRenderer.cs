using Magma.Inference.Imaging;
using SkiaSharp;

namespace Magma.Tasks.Marks;

/// <summary>
/// Draws Set-of-Mark prompts in the style of Magma's UI agent (spec §7.1): red 2-pixel box outlines, and for each
/// box a filled red label with its white number, placed at whichever of 8 spots around the box overlaps other boxes
/// and labels least.
/// </summary>
/// <remarks>
/// Uses the bundled Liberation Sans (metric-compatible with the reference's Arial), so output is close to, not
/// pixel-identical with, the Python demo. Instances hold no state and are thread-safe.
/// </remarks>
public sealed class SetOfMarkRenderer
{
    private static readonly SKColor Red = new(255, 0, 0);

    /// <summary>Outline width in pixels, drawn inside the box edge (default 2, as the reference).</summary>
    public int OutlineWidth { get; init; } = 2;

    /// <summary>
    /// Off by default (Magma's style: red everywhere, labels placed by overlap only). When on, for screenshots of real
    /// pages: a mark whose surroundings are close to red (a red bar) is drawn in the first colour of
    /// <see cref="AdaptivePalette"/> that stands out from them, its label text is black or white by the fill's
    /// lightness, and label spots that would cover text or icons (busy pixels) score worse, so labels cover fewer
    /// first letters of names.
    /// </summary>
    public bool AdaptToBackground { get; init; }

    /// <summary>Colours tried in order by <see cref="AdaptToBackground"/>: red first (Magma's), then blue, then black.</summary>
    public IReadOnlyList<SKColor> AdaptivePalette { get; init; } = [Red, new SKColor(0, 64, 255), SKColors.Black];

    // RGB distance a mark colour needs from its surroundings to count as standing out.
    private const float Stands = 150f;

    /// <summary>
    /// Draws the marks. Boxes with a negative (or non-finite) width or height are dropped first; the remaining
    /// boxes are numbered in order from 0 (or 1), so a mark number is an index into the kept boxes — use
    /// <see cref="SetOfMarkResult.Marks"/> to map answers back.
    /// </summary>
    /// <param name="image">The screenshot.</param>
    /// <param name="boxes">Candidate boxes in pixels, e.g. from OmniParser.</param>
    /// <param name="numbering">0-based for the released UI demo (default), 1-based for the paper's variant.</param>
    public SetOfMarkResult Draw(RgbImage image, IReadOnlyList<MarkBox> boxes, MarkNumbering numbering = MarkNumbering.ZeroBased)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(boxes);
        var kept = new List<MarkBox>(boxes.Count);
        foreach (MarkBox b in boxes)
        {
            if (b.Width >= 0 && b.Height >= 0 && float.IsFinite(b.X) && float.IsFinite(b.Y) && float.IsFinite(b.Width) && float.IsFinite(b.Height))
            {
                kept.Add(b);
            }
        }

        int first = numbering == MarkNumbering.OneBased ? 1 : 0;
        using SKFont font = BundledFont.CreateFont(FontSize(image.Width, image.Height));
        var sizeCache = new Dictionary<int, (int W, int H)>();
        var marks = new Dictionary<int, MarkBox>(kept.Count);
        var labels = new Dictionary<int, MarkBox>(kept.Count);
        var placed = new List<MarkBox>(kept.Count);

        using SKBitmap bitmap = image.ToBitmap();
        using (var canvas = new SKCanvas(bitmap))
        using (var outline = new SKPaint { Color = Red, IsAntialias = false, Style = SKPaintStyle.Stroke, StrokeWidth = OutlineWidth })
        using (var fill = new SKPaint { Color = Red, IsAntialias = false, Style = SKPaintStyle.Fill })
        using (var text = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.Fill })
        {
            SKColor[]? colours = AdaptToBackground ? new SKColor[kept.Count] : null;
            for (int i = 0; i < kept.Count; i++)
            {
                if (colours is not null)
                {
                    colours[i] = Pick(Surroundings(image, kept[i]));
                    outline.Color = fill.Color = colours[i];
                }

                DrawOutline(canvas, kept[i], outline, fill);
            }

            for (int i = 0; i < kept.Count; i++)
            {
                int number = first + i;
                string label = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (!sizeCache.TryGetValue(label.Length, out (int W, int H) size))
                {
                    // Digits share one advance width, so a run of '5's sizes every label of that length.
                    size = BundledFont.TextSize(font, new string('5', label.Length));
                    sizeCache[label.Length] = size;
                }

                MarkBox spot = PlaceLabel(kept, i, placed, size.W, size.H, image.Width, image.Height, colours is null ? null : image);
                placed.Add(spot);
                marks[number] = kept[i];
                labels[number] = spot;
                if (colours is not null)
                {
                    fill.Color = colours[i];
                    text.Color = Lightness(colours[i]) > 150 ? SKColors.Black : SKColors.White;
                }

                canvas.DrawRect(SKRect.Create(spot.X, spot.Y, spot.Width, spot.Height), fill);
                BundledFont.DrawText(canvas, label, spot.X, spot.Y, font, text);
            }
        }

        return new SetOfMarkResult(RgbImage.FromBitmap(bitmap), marks, labels);
    }

    /// <summary>
    /// Label font size for an image: start at 20 and grow by 1 until the smaller side of the rendered "555"
    /// reaches min(30, 0.04 × min(height, width)).
    /// </summary>
    public static float FontSize(int width, int height)
    {
        float target = MathF.Min(30f, 0.04f * Math.Min(width, height));
        int size = 20;
        while (size < 400)
        {
            using SKFont font = BundledFont.CreateFont(size);
            (int w, int h) = BundledFont.TextSize(font, "555");
            if (Math.Min(w, h) >= target)
            {
                break;
            }

            size++;
        }

        return size;
    }

    private void DrawOutline(SKCanvas canvas, MarkBox b, SKPaint outline, SKPaint fill)
    {
        if (b.Width <= 2 * OutlineWidth || b.Height <= 2 * OutlineWidth)
        {
            // Too small for a hollow outline: the inward 2-pixel stroke covers it entirely.
            canvas.DrawRect(SKRect.Create(b.X, b.Y, MathF.Max(b.Width, 1f), MathF.Max(b.Height, 1f)), fill);
            return;
        }

        // The stroke is centred on the path; inset by half its width so it lies inside the box, like PIL's outline.
        float half = OutlineWidth / 2f;
        canvas.DrawRect(new SKRect(b.X + half, b.Y + half, b.Right - half, b.Bottom - half), outline);
    }

    /// <summary>
    /// Chooses the label spot for box <paramref name="index"/>: of the 8 candidates that fit in the image, the one whose
    /// worst score against every other box and every placed label is smallest, where score = overlap area −
    /// 0.0001 × nearest-corner distance. First candidate wins ties; with no fitting candidate, above-left clamped
    /// into the image.
    /// </summary>
    internal static MarkBox PlaceLabel(IReadOnlyList<MarkBox> boxes, int index, IReadOnlyList<MarkBox> placedLabels, int w, int h, int imageWidth, int imageHeight,
        RgbImage? ink = null)
    {
        MarkBox b = boxes[index];
        Span<MarkBox> candidates =
        [
            new(b.X, b.Y - h, w, h),                 // above-left
            new(b.Right - w, b.Y - h, w, h),         // above-right
            new(b.Right, b.Y, w, h),                 // right-top
            new(b.Right, b.Bottom - h, w, h),        // right-bottom
            new(b.Right - w, b.Bottom, w, h),        // below-right
            new(b.X, b.Bottom, w, h),                // below-left
            new(b.X - w, b.Bottom - h, w, h),        // left-bottom
            new(b.X - w, b.Y, w, h),                 // left-top
        ];

        MarkBox? best = null;
        float bestScore = float.PositiveInfinity;
        foreach (MarkBox c in candidates)
        {
            if (c.X < 0 || c.Y < 0 || c.Right > imageWidth || c.Bottom > imageHeight)
            {
                continue;
            }

            float worst = float.NegativeInfinity;
            for (int j = 0; j < boxes.Count; j++)
            {
                if (j != index)
                {
                    worst = MathF.Max(worst, Score(c, boxes[j]));
                }
            }

            foreach (MarkBox other in placedLabels)
            {
                worst = MathF.Max(worst, Score(c, other));
            }

            if (ink is not null)
            {
                // Covering text or an icon costs like overlapping half as much of a box.
                // A lone box has nothing to score against (worst is -inf): the ink cost alone decides then.
                worst = (float.IsNegativeInfinity(worst) ? 0f : worst) + (0.5f * c.Width * c.Height * Busy(ink, c));
            }

            if (best is null || worst < bestScore)
            {
                best = c;
                bestScore = worst;
            }
        }

        if (best is { } chosen)
        {
            return chosen;
        }

        float x = Math.Clamp(b.X, 0f, MathF.Max(0f, imageWidth - w));
        float y = Math.Clamp(b.Y - h, 0f, MathF.Max(0f, imageHeight - h));
        return new MarkBox(x, y, Math.Min(w, imageWidth), Math.Min(h, imageHeight));
    }

    /// <summary>The fraction of a spot's pixels (every other one) that differ clearly from its top-left pixel: text or icons.</summary>
    private static float Busy(RgbImage image, MarkBox spot)
    {
        int x0 = Math.Max(0, (int)spot.X), y0 = Math.Max(0, (int)spot.Y);
        int x1 = Math.Min(image.Width, (int)spot.Right), y1 = Math.Min(image.Height, (int)spot.Bottom);
        if (x1 <= x0 || y1 <= y0)
        {
            return 0f;
        }

        ReadOnlySpan<byte> px = image.Span;
        int stride = image.Width * 3;
        int r0 = px[(y0 * stride) + (x0 * 3)], g0 = px[(y0 * stride) + (x0 * 3) + 1], b0 = px[(y0 * stride) + (x0 * 3) + 2];
        int busy = 0, seen = 0;
        for (int y = y0; y < y1; y += 2)
        {
            for (int x = x0; x < x1; x += 2)
            {
                int o = (y * stride) + (x * 3);
                seen++;
                if (Math.Abs(px[o] - r0) + Math.Abs(px[o + 1] - g0) + Math.Abs(px[o + 2] - b0) > 96)
                {
                    busy++;
                }
            }
        }

        return (float)busy / seen;
    }

    /// <summary>Mean colour of the pixels around a box's edge (3 px either side, every other pixel).</summary>
    private static (float R, float G, float B) Surroundings(RgbImage image, MarkBox b)
    {
        ReadOnlySpan<byte> px = image.Span;
        int stride = image.Width * 3;
        long r = 0, g = 0, bl = 0, n = 0;
        void Add(int x, int y, ReadOnlySpan<byte> p)
        {
            if (x >= 0 && y >= 0 && x < image.Width && y < image.Height)
            {
                int o = (y * stride) + (x * 3);
                r += p[o];
                g += p[o + 1];
                bl += p[o + 2];
                n++;
            }
        }

        int left = (int)b.X, top = (int)b.Y, right = (int)b.Right, bottom = (int)b.Bottom;
        for (int d = -3; d <= 3; d += 2)
        {
            for (int x = left; x <= right; x += 2)
            {
                Add(x, top + d, px);
                Add(x, bottom + d, px);
            }

            for (int y = top; y <= bottom; y += 2)
            {
                Add(left + d, y, px);
                Add(right + d, y, px);
            }
        }

        return n == 0 ? (255f, 255f, 255f) : (r / (float)n, g / (float)n, bl / (float)n);
    }

    private SKColor Pick((float R, float G, float B) around)
    {
        SKColor best = AdaptivePalette.Count > 0 ? AdaptivePalette[0] : Red;
        float bestDistance = -1f;
        foreach (SKColor c in AdaptivePalette)
        {
            float dr = c.Red - around.R, dg = c.Green - around.G, db = c.Blue - around.B;
            float distance = MathF.Sqrt((dr * dr) + (dg * dg) + (db * db));
            if (distance >= Stands)
            {
                return c;
            }

            if (distance > bestDistance)
            {
                (best, bestDistance) = (c, distance);
            }
        }

        return best;
    }

    private static float Lightness(SKColor c) => (0.299f * c.Red) + (0.587f * c.Green) + (0.114f * c.Blue);

    private static float Score(MarkBox label, MarkBox other)
        => label.IntersectionArea(other) - (0.0001f * NearestCornerDistance(label, other));

    private static float NearestCornerDistance(MarkBox a, MarkBox b)
    {
        float best = float.PositiveInfinity;
        ReadOnlySpan<float> ax = [a.X, a.Right], ay = [a.Y, a.Bottom], bx = [b.X, b.Right], by = [b.Y, b.Bottom];
        foreach (float x1 in ax)
        {
            foreach (float y1 in ay)
            {
                foreach (float x2 in bx)
                {
                    foreach (float y2 in by)
                    {
                        float dx = x1 - x2, dy = y1 - y2;
                        best = MathF.Min(best, MathF.Sqrt((dx * dx) + (dy * dy)));
                    }
                }
            }
        }

        return best;
    }
}
