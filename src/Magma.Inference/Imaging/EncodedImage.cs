using SkiaSharp;

namespace Magma.Inference.Imaging;

/// <summary>
/// An encoded image (PNG, JPEG, WebP, BMP, GIF, ...) whose header has been read but whose pixels have not been
/// decoded: its size is known, so a request can be budgeted (context, decoded pixels) before any memory is spent on
/// pixels. <see cref="MagmaModel.CreateRequest"/> checks the budgets, then decodes.
/// </summary>
public sealed class EncodedImage
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly ImageDecodeOptions _options;

    private EncodedImage(ReadOnlyMemory<byte> bytes, ImageDecodeOptions options, string name, int width, int height)
    {
        _bytes = bytes;
        _options = options;
        SourceName = name;
        Width = width;
        Height = height;
    }

    /// <summary>Width in pixels the decoded image will have (after EXIF orientation, when the options apply it).</summary>
    public int Width { get; }

    /// <summary>Height in pixels the decoded image will have.</summary>
    public int Height { get; }

    /// <summary>Width × height.</summary>
    public long PixelCount => (long)Width * Height;

    /// <summary>The name used in error messages (file, URL or field).</summary>
    public string SourceName { get; }

    /// <summary>Reads the header of encoded bytes; the bytes are kept (not copied) until <see cref="Decode"/>.</summary>
    /// <param name="encoded">The file bytes; do not modify them afterwards.</param>
    /// <param name="options">Limits and conversions; <see cref="ImageDecodeOptions.Default"/> when null.</param>
    /// <param name="sourceName">Name used in error messages; "image" when null.</param>
    /// <exception cref="MagmaInputException">
    /// The bytes are empty or not a supported image, or the header claims zero size or more than
    /// <see cref="ImageDecodeOptions.MaxPixels"/> pixels.
    /// </exception>
    public static EncodedImage Read(ReadOnlyMemory<byte> encoded, ImageDecodeOptions? options = null, string? sourceName = null)
    {
        options ??= ImageDecodeOptions.Default;
        string name = string.IsNullOrEmpty(sourceName) ? "image" : sourceName;
        if (encoded.IsEmpty)
        {
            throw new MagmaInputException($"Image '{name}' is empty (0 bytes). Pass the bytes of a PNG, JPEG, WebP, BMP or GIF file.");
        }

        using SKData data = SKData.CreateCopy(encoded.Span);
        using SKCodec codec = RgbImage.OpenCodec(data, encoded.Length, options, name);
        SKImageInfo header = codec.Info;
        bool swap = options.ApplyExifOrientation
            && codec.EncodedOrigin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        return new EncodedImage(encoded, options, name, swap ? header.Height : header.Width, swap ? header.Width : header.Height);
    }

    /// <summary>Reads an image file and its header (no pixel is decoded).</summary>
    /// <param name="path">The file; its name is used in error messages.</param>
    /// <param name="options">Limits and conversions; <see cref="ImageDecodeOptions.Default"/> when null.</param>
    /// <exception cref="MagmaInputException">The file is missing or unreadable, or its header is rejected as by <see cref="Read"/>.</exception>
    public static EncodedImage Load(string path, ImageDecodeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Read(ReadFile(path), options, path);
    }

    /// <summary>An image file's bytes; an unreadable file is a <see cref="MagmaInputException"/> naming it.</summary>
    internal static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            throw new MagmaInputException($"Image file '{path}' could not be read ({e.Message}). Check the path and its permissions.", e);
        }
    }

    /// <summary>Decodes the pixels (<see cref="RgbImage.Decode"/> with the options given when the header was read).</summary>
    /// <exception cref="MagmaInputException">The pixel data is corrupt or truncated.</exception>
    public RgbImage Decode() => RgbImage.Decode(_bytes.Span, _options, SourceName);
}
