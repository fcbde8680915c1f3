using System.Globalization;
using Magma.Inference.Imaging;
using Magma.Tasks.Marks;
using SkiaSharp;

namespace Magma.Plugins.Robotics.Video;

/// <summary>Draws a video frame: the camera image with a caption band below it (instruction, step, status).</summary>
internal sealed class FrameAnnotator : IDisposable
{
    internal const int BandHeight = 40;

    // Magma.Tasks embeds Liberation Sans; reading its resource keeps one font file in the repository and makes
    // drawing independent of system fonts (the NoDependencies Skia build has no fontconfig).
    private const string FontResource = "Magma.Tasks.Marks.Fonts.LiberationSans-Regular.ttf";
    private static readonly Lazy<SKTypeface> Typeface = new(LoadTypeface);

    private readonly SKBitmap _canvasBitmap;
    private readonly SKCanvas _canvas;
    private readonly SKFont _font = new(Typeface.Value, 11) { Edging = SKFontEdging.Antialias };
    private readonly SKPaint _text = new() { Color = SKColors.White, IsAntialias = true };
    private readonly byte[] _rgb;

    internal FrameAnnotator(int frameSize)
    {
        Width = frameSize;
        Height = frameSize + BandHeight;
        _canvasBitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        _canvas = new SKCanvas(_canvasBitmap);
        _rgb = new byte[Width * Height * 3];
    }

    internal int Width { get; }

    /// <summary>Drawn right-aligned on the caption's second line of every frame, or null.</summary>
    internal string? Label { get; init; }

    internal int Height { get; }

    /// <summary>Composes the frame and returns its RGB24 bytes (the buffer is reused by the next call).</summary>
    internal byte[] Compose(RgbImage frame, string instruction, int step, string? status)
    {
        Span<byte> dst = _canvasBitmap.GetPixelSpan();
        dst.Clear();
        int w = Math.Min(frame.Width, Width), h = Math.Min(frame.Height, Width);
        ReadOnlySpan<byte> src = frame.Span;
        int rowBytes = _canvasBitmap.RowBytes;
        for (int y = 0; y < h; y++)
        {
            ReadOnlySpan<byte> srow = src.Slice(y * frame.Width * 3, w * 3);
            Span<byte> drow = dst.Slice(y * rowBytes, w * 4);
            for (int x = 0, s = 0, d = 0; x < w; x++, s += 3, d += 4)
            {
                drow[d] = srow[s];
                drow[d + 1] = srow[s + 1];
                drow[d + 2] = srow[s + 2];
                drow[d + 3] = 255;
            }
        }

        _canvas.DrawRect(0, Width, Width, BandHeight, new SKPaint { Color = new SKColor(20, 20, 20) });
        string line1 = Fit(instruction, Width - 8);
        string line2 = string.Create(CultureInfo.InvariantCulture, $"step {step}") + (status is null ? string.Empty : "  " + status);
        _canvas.DrawText(line1, 4, Width + 15, SKTextAlign.Left, _font, _text);
        _canvas.DrawText(line2, 4, Width + 32, SKTextAlign.Left, _font, _text);
        if (Label is not null)
        {
            _canvas.DrawText(Label, Width - 4, Width + 32, SKTextAlign.Right, _font, _text);
        }
        _canvas.Flush();

        ReadOnlySpan<byte> rgba = _canvasBitmap.GetPixelSpan();
        for (int y = 0; y < Height; y++)
        {
            ReadOnlySpan<byte> srow = rgba.Slice(y * rowBytes, Width * 4);
            Span<byte> drow = _rgb.AsSpan(y * Width * 3, Width * 3);
            for (int x = 0, s = 0, d = 0; x < Width; x++, s += 4, d += 3)
            {
                drow[d] = srow[s];
                drow[d + 1] = srow[s + 1];
                drow[d + 2] = srow[s + 2];
            }
        }

        return _rgb;
    }

    private string Fit(string text, float width)
    {
        if (_font.MeasureText(text) <= width)
        {
            return text;
        }

        int n = text.Length;
        while (n > 0 && _font.MeasureText(string.Concat(text.AsSpan(0, n), "…")) > width)
        {
            n--;
        }

        return string.Concat(text.AsSpan(0, n), "…");
    }

    private static SKTypeface LoadTypeface()
    {
        using Stream? stream = typeof(SetOfMarkRenderer).Assembly.GetManifestResourceStream(FontResource);
        if (stream is null)
        {
            return SKTypeface.Default;
        }

        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        using SKData data = SKData.CreateCopy(copy.ToArray());
        return SKTypeface.FromData(data) ?? SKTypeface.Default;
    }

    public void Dispose()
    {
        _canvas.Dispose();
        _canvasBitmap.Dispose();
        _font.Dispose();
        _text.Dispose();
    }
}
