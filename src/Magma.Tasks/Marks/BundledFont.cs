using SkiaSharp;

namespace Magma.Tasks.Marks;

/// <summary>
/// Liberation Sans Regular (SIL OFL 1.1, metric-compatible with the Arial the reference draws with), embedded in
/// this assembly so drawing never depends on system fonts (the NoDependencies Skia build has no fontconfig).
/// </summary>
internal static class BundledFont
{
    internal const string ResourceName = "Magma.Tasks.Marks.Fonts.LiberationSans-Regular.ttf";

    private static readonly Lazy<SKTypeface> LazyTypeface = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The shared typeface (never disposed; lives for the process).</summary>
    public static SKTypeface Typeface => LazyTypeface.Value;

    private static SKTypeface Load()
    {
        using Stream stream = typeof(BundledFont).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded font '{ResourceName}' is missing from Magma.Tasks.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        using SKData data = SKData.CreateCopy(copy.ToArray());
        return SKTypeface.FromData(data) ?? throw new InvalidOperationException($"Embedded font '{ResourceName}' could not be loaded by Skia.");
    }

    /// <summary>Creates a font of the given size with PIL-like rendering (antialiased, no subpixel positioning).</summary>
    public static SKFont CreateFont(float size) => new(Typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = false };

    /// <summary>
    /// PIL's <c>draw.textbbox((0, 0), text)</c> right and bottom edges: the text is anchored at its left/ascender
    /// corner, so the height includes the space above the glyphs down to the lowest ink.
    /// </summary>
    public static (int Width, int Height) TextSize(SKFont font, string text)
    {
        font.MeasureText(text, out SKRect bounds);
        float ascent = -font.Metrics.Ascent;
        return ((int)MathF.Ceiling(bounds.Right), (int)MathF.Ceiling(ascent + bounds.Bottom));
    }

    /// <summary>Draws text with its left/ascender corner at (x, y), as PIL's default anchor "la".</summary>
    public static void DrawText(SKCanvas canvas, string text, float x, float y, SKFont font, SKPaint paint)
        => canvas.DrawText(text, x, y - font.Metrics.Ascent, SKTextAlign.Left, font, paint);
}
