namespace Magma.Inference.Imaging;

/// <summary>Limits and conversions applied by <see cref="RgbImage.Decode"/> and <see cref="RgbImage.Load"/>.</summary>
public sealed record ImageDecodeOptions
{
    /// <summary>Shared default instance (64 megapixels, EXIF orientation ignored).</summary>
    public static ImageDecodeOptions Default { get; } = new();

    /// <summary>
    /// Largest accepted width × height. Checked against the file header before any pixel is decoded, so a
    /// crafted header claiming a huge image costs no memory. Default 64,000,000.
    /// </summary>
    public long MaxPixels { get; init; } = 64_000_000;

    /// <summary>
    /// When true, an EXIF orientation tag (JPEG) is applied so the image comes out upright. Default false,
    /// because the reference pipeline (PIL <c>Image.open(...).convert("RGB")</c>) ignores the tag and the model
    /// therefore saw the stored pixel order.
    /// </summary>
    public bool ApplyExifOrientation { get; init; }
}
