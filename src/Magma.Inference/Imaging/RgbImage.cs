using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SkiaSharp;

namespace Magma.Inference.Imaging;

/// <summary>
/// A decoded 8-bit RGB image: height × width × 3 bytes, row-major, no padding (stride = <see cref="Width"/> × 3).
/// This is the layout the Magma image processor receives from every official caller
/// (<c>PIL.Image.open(f).convert("RGB")</c> or an HWC uint8 numpy array).
/// </summary>
/// <remarks>
/// Decoding follows what PIL's <c>convert("RGB")</c> produces, with these documented choices:
/// <list type="bullet">
/// <item>Alpha is dropped without compositing: pixels are decoded unpremultiplied, so a half-transparent red
/// pixel stays (255, 0, 0), exactly as PIL's RGBA→RGB conversion.</item>
/// <item>Grayscale is replicated into R, G and B; palette images yield their palette colours.</item>
/// <item>16-bit-per-channel images are scaled to 8 bits by the decoder (round(v·255/65535)). PIL keeps the high
/// byte for 16-bit RGB, so a value may differ by at most 1. For 16-bit grayscale PIL clips the value to 255
/// (almost every pixel becomes white) — a reference quirk this library deliberately does not reproduce.</item>
/// <item>ICC profiles and PNG gamma are not applied (PIL does not apply them either).</item>
/// <item>GIF and other animated formats: the first frame only. Fully transparent palette entries may come out as
/// black instead of the palette colour PIL would return.</item>
/// <item>EXIF orientation is ignored unless <see cref="ImageDecodeOptions.ApplyExifOrientation"/> is set, because
/// <c>Image.open</c> does not apply it.</item>
/// </list>
/// </remarks>
public sealed class RgbImage
{
    private readonly byte[] _pixels;

    private RgbImage(int width, int height, byte[] pixels)
    {
        Width = width;
        Height = height;
        _pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels, R,G,B per pixel, rows top to bottom, length <c>Width * Height * 3</c>.</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels;

    /// <summary>Pixel bytes as a span (same data as <see cref="Pixels"/>).</summary>
    public ReadOnlySpan<byte> Span => _pixels;

    /// <summary>
    /// Wraps an existing RGB buffer (HWC, row-major, 3 bytes per pixel). The array is used as is, not copied,
    /// so do not modify it afterwards.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Width or height is not positive.</exception>
    /// <exception cref="ArgumentException">The buffer length is not width × height × 3.</exception>
    public static RgbImage FromPixels(int width, int height, byte[] rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        long expected = (long)width * height * 3;
        if (rgb.LongLength != expected)
        {
            throw new ArgumentException(
                $"An RGB buffer for {width}x{height} must hold {expected} bytes (width*height*3), but it holds {rgb.LongLength}.",
                nameof(rgb));
        }

        return new RgbImage(width, height, rgb);
    }

    /// <summary>Reads and decodes an image file (PNG, JPEG, WebP, BMP, GIF, ...).</summary>
    /// <param name="path">The file to read; its name is used in error messages.</param>
    /// <param name="options">Limits and conversions; <see cref="ImageDecodeOptions.Default"/> when null.</param>
    /// <exception cref="MagmaInputException">The file is missing, unreadable, not an image, empty or too large.</exception>
    public static RgbImage Load(string path, ImageDecodeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Decode(EncodedImage.ReadFile(path), options, path);
    }

    /// <summary>
    /// Decodes an encoded image (PNG, JPEG, WebP, BMP, GIF first frame, ICO, WBMP) into 8-bit RGB.
    /// The header is checked before any pixel is decoded.
    /// </summary>
    /// <param name="encoded">The file bytes.</param>
    /// <param name="options">Limits and conversions; <see cref="ImageDecodeOptions.Default"/> when null.</param>
    /// <param name="sourceName">Name used in error messages (a file name, URL or field); "image" when null.</param>
    /// <exception cref="MagmaInputException">
    /// The bytes are empty, not a supported image, corrupt or truncated, or the image has zero size or more than
    /// <see cref="ImageDecodeOptions.MaxPixels"/> pixels.
    /// </exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, ImageDecodeOptions? options = null, string? sourceName = null)
    {
        options ??= ImageDecodeOptions.Default;
        string name = string.IsNullOrEmpty(sourceName) ? "image" : sourceName;
        if (encoded.IsEmpty)
        {
            throw new MagmaInputException($"Image '{name}' is empty (0 bytes). Pass the bytes of a PNG, JPEG, WebP, BMP or GIF file.");
        }

        using SKData data = SKData.CreateCopy(encoded);
        using SKCodec codec = OpenCodec(data, encoded.Length, options, name);
        SKImageInfo header = codec.Info;
        // Unpremul keeps the RGB of translucent pixels (PIL drops alpha without compositing); a null colour
        // space stops Skia from applying ICC/gamma conversions PIL would not apply.
        var target = new SKImageInfo(
            header.Width,
            header.Height,
            SKColorType.Rgba8888,
            header.AlphaType == SKAlphaType.Opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul,
            colorspace: null);

        int rgbaLength = checked(header.Width * header.Height * 4);
        // Scratch and result together: what this decode holds until it returns (DecodeMemoryGate bounds the sum).
        using DecodeMemoryGate.Lease lease = DecodeMemoryGate.Shared.Enter((long)header.Width * header.Height * 7);
        Interlocked.Increment(ref s_decodes);
        byte[] rgba = ArrayPool<byte>.Shared.Rent(rgbaLength);
        try
        {
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = rgba)
                {
                    result = codec.GetPixels(target, (IntPtr)p, target.RowBytes, new SKCodecOptions(0));
                }
            }

            if (result != SKCodecResult.Success)
            {
                string why = result switch
                {
                    SKCodecResult.IncompleteInput => "the file is truncated",
                    SKCodecResult.ErrorInInput => "the pixel data is corrupt",
                    SKCodecResult.InvalidConversion or SKCodecResult.Unimplemented => "its pixel format is not supported",
                    _ => $"the decoder reported {result}",
                };
                throw new MagmaInputException($"Image '{name}' could not be decoded: {why}. Re-export the image as PNG or JPEG.");
            }

            byte[] rgb = new byte[checked(header.Width * header.Height * 3)];
            RgbaToRgb(rgba.AsSpan(0, rgbaLength), rgb);
            var image = new RgbImage(header.Width, header.Height, rgb);
            if (options.ApplyExifOrientation && codec.EncodedOrigin is not SKEncodedOrigin.TopLeft)
            {
                image = Orient(image, codec.EncodedOrigin);
            }

            return image;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>Pixel decodes started since the process began (tests check that a rejected request decoded nothing).</summary>
    internal static long DecodesStarted => Interlocked.Read(ref s_decodes);

    private static long s_decodes;

    /// <summary>
    /// Opens a codec over <paramref name="data"/> and checks its header (format, size, <see cref="ImageDecodeOptions.MaxPixels"/>);
    /// no pixel is decoded.
    /// </summary>
    internal static SKCodec OpenCodec(SKData data, int length, ImageDecodeOptions options, string name)
    {
        SKCodec? codec = SKCodec.Create(data);
        if (codec is null)
        {
            throw new MagmaInputException(
                $"Image '{name}' is not a readable image ({length} bytes, unknown format or corrupt header). Pass a PNG, JPEG, WebP, BMP or GIF file.");
        }

        try
        {
            SKImageInfo header = codec.Info;
            if (header.Width <= 0 || header.Height <= 0)
            {
                throw new MagmaInputException($"Image '{name}' has zero size ({header.Width}x{header.Height}). Pass an image with at least one pixel.");
            }

            long pixelCount = (long)header.Width * header.Height;
            // Array.MaxLength bounds the RGBA scratch buffer too, whatever MaxPixels allows.
            if (pixelCount > options.MaxPixels || pixelCount * 4 > Array.MaxLength)
            {
                throw new MagmaInputException(
                    $"Image '{name}' is {header.Width}x{header.Height} ({pixelCount} pixels), more than the limit of {Math.Min(options.MaxPixels, Array.MaxLength / 4)} pixels. " +
                    "Downscale the image or raise ImageDecodeOptions.MaxPixels.");
            }

            return codec;
        }
        catch
        {
            codec.Dispose();
            throw;
        }
    }

    /// <summary>Encodes the image as PNG (lossless), e.g. to show a Set-of-Mark screenshot or save it.</summary>
    public byte[] EncodePng()
    {
        using SKBitmap bitmap = ToBitmap();
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Encodes the image as JPEG with the given quality (1-100, 4:2:0 chroma subsampling).</summary>
    public byte[] EncodeJpeg(int quality = 95)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quality, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quality, 100);
        using SKBitmap bitmap = ToBitmap();
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData? data = pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore));
        return data?.ToArray() ?? throw new InvalidOperationException("The JPEG encoder failed.");
    }

    /// <summary>Copies the pixels into a new opaque RGBA Skia bitmap (caller disposes).</summary>
    public SKBitmap ToBitmap()
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Span<byte> dst = bitmap.GetPixelSpan();
        int rowBytes = bitmap.RowBytes;
        for (int y = 0; y < Height; y++)
        {
            RgbToRgba(_pixels.AsSpan(y * Width * 3, Width * 3), dst.Slice(y * rowBytes, Width * 4));
        }

        return bitmap;
    }

    /// <summary>Copies an RGBA 8888 bitmap (alpha ignored) into a new image.</summary>
    public static RgbImage FromBitmap(SKBitmap bitmap)
    {
        if (bitmap.ColorType != SKColorType.Rgba8888)
        {
            throw new ArgumentException("Expected an RGBA 8888 bitmap.", nameof(bitmap));
        }

        int w = bitmap.Width, h = bitmap.Height, rowBytes = bitmap.RowBytes;
        ReadOnlySpan<byte> src = bitmap.GetPixelSpan();
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            RgbaToRgb(src.Slice(y * rowBytes, w * 4), rgb.AsSpan(y * w * 3, w * 3));
        }

        return new RgbImage(w, h, rgb);
    }

    /// <summary>RGBA 8888 → RGB (alpha dropped); <paramref name="rgb"/> holds the pixel count × 3 bytes, <paramref name="rgba"/> × 4.</summary>
    public static void RgbaToRgb(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        int n = rgb.Length / 3;
        if (rgba.Length < n * 4)
        {
            throw new ArgumentException($"RGBA source holds {rgba.Length} bytes; {n} pixels need {n * 4}.", nameof(rgba));
        }

        ref byte s = ref MemoryMarshal.GetReference(rgba);
        ref byte d = ref MemoryMarshal.GetReference(rgb);
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // 4 pixels per shuffle; the 16-byte store writes 4 bytes past the 12 it keeps, so stop 6 pixels early.
            Vector128<byte> pick = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80);
            for (; i + 6 <= n; i += 4)
            {
                Vector128.Shuffle(Vector128.LoadUnsafe(ref s, (nuint)(i * 4)), pick).StoreUnsafe(ref d, (nuint)(i * 3));
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i * 3) = Unsafe.Add(ref s, i * 4);
            Unsafe.Add(ref d, (i * 3) + 1) = Unsafe.Add(ref s, (i * 4) + 1);
            Unsafe.Add(ref d, (i * 3) + 2) = Unsafe.Add(ref s, (i * 4) + 2);
        }
    }

    /// <summary>RGB → opaque RGBA 8888; <paramref name="rgba"/> holds the pixel count × 4 bytes.</summary>
    internal static void RgbToRgba(ReadOnlySpan<byte> rgb, Span<byte> rgba) => ToRgba(rgb, rgba, reverse: false);

    /// <summary>RGB → opaque RGBA 8888 with the pixel order reversed (a 180° rotation), in one pass.</summary>
    public static void Rotate180ToRgba(ReadOnlySpan<byte> rgb, Span<byte> rgba) => ToRgba(rgb, rgba, reverse: true);

    /// <summary>RGB → RGB with the pixel order reversed (a 180° rotation); the spans must not overlap.</summary>
    public static void Rotate180Rgb(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        int n = src.Length / 3;
        if (dst.Length < n * 3)
        {
            throw new ArgumentException($"Destination holds {dst.Length} bytes; {n} pixels need {n * 3}.", nameof(dst));
        }

        ref byte s = ref MemoryMarshal.GetReference(src);
        ref byte d = ref MemoryMarshal.GetReference(dst);
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // 5 source pixels (15 bytes) reversed into bytes 1..15 of the store; byte 0 is scratch and lands on the
            // last byte of a destination pixel that a later iteration (or the tail) writes, never on a finished one.
            Vector128<byte> reverse = Vector128.Create((byte)0x80, 12, 13, 14, 9, 10, 11, 6, 7, 8, 3, 4, 5, 0, 1, 2);
            for (; i + 6 <= n; i += 5)
            {
                Vector128.Shuffle(Vector128.LoadUnsafe(ref s, (nuint)(i * 3)), reverse)
                    .StoreUnsafe(ref d, (nuint)((3 * (n - i - 5)) - 1));
            }
        }

        for (; i < n; i++)
        {
            int j = (n - 1 - i) * 3;
            Unsafe.Add(ref d, j) = Unsafe.Add(ref s, i * 3);
            Unsafe.Add(ref d, j + 1) = Unsafe.Add(ref s, (i * 3) + 1);
            Unsafe.Add(ref d, j + 2) = Unsafe.Add(ref s, (i * 3) + 2);
        }
    }

    private static void ToRgba(ReadOnlySpan<byte> rgb, Span<byte> rgba, bool reverse)
    {
        int n = rgb.Length / 3;
        if (rgba.Length < n * 4)
        {
            throw new ArgumentException($"RGBA destination holds {rgba.Length} bytes; {n} pixels need {n * 4}.", nameof(rgba));
        }

        ref byte s = ref MemoryMarshal.GetReference(rgb);
        ref byte d = ref MemoryMarshal.GetReference(rgba);
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // 4 pixels per shuffle from a 16-byte load (12 used), so stop 6 pixels early; 0x80 lanes become 0, then alpha is OR-ed in.
            Vector128<byte> spread = reverse
                ? Vector128.Create((byte)9, 10, 11, 0x80, 6, 7, 8, 0x80, 3, 4, 5, 0x80, 0, 1, 2, 0x80)
                : Vector128.Create((byte)0, 1, 2, 0x80, 3, 4, 5, 0x80, 6, 7, 8, 0x80, 9, 10, 11, 0x80);
            Vector128<byte> alpha = Vector128.Create(0xFF000000u).AsByte();
            for (; i + 6 <= n; i += 4)
            {
                Vector128<byte> v = Vector128.Shuffle(Vector128.LoadUnsafe(ref s, (nuint)(i * 3)), spread) | alpha;
                v.StoreUnsafe(ref d, (nuint)((reverse ? n - i - 4 : i) * 4));
            }
        }

        for (; i < n; i++)
        {
            int o = (reverse ? n - 1 - i : i) * 4;
            Unsafe.Add(ref d, o) = Unsafe.Add(ref s, i * 3);
            Unsafe.Add(ref d, o + 1) = Unsafe.Add(ref s, (i * 3) + 1);
            Unsafe.Add(ref d, o + 2) = Unsafe.Add(ref s, (i * 3) + 2);
            Unsafe.Add(ref d, o + 3) = 255;
        }
    }

    /// <summary>Applies an EXIF orientation so the result is upright.</summary>
    internal static RgbImage Orient(RgbImage image, SKEncodedOrigin origin)
    {
        int w = image.Width, h = image.Height;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = swap ? h : w, oh = swap ? w : h;
        byte[] dst = new byte[image._pixels.Length];
        ReadOnlySpan<byte> src = image._pixels;
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                // (sx, sy): the stored pixel that lands at upright position (x, y). EXIF names where row 0 / column 0 sit.
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                int s = ((sy * w) + sx) * 3, d = ((y * ow) + x) * 3;
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }

        return new RgbImage(ow, oh, dst);
    }
}
