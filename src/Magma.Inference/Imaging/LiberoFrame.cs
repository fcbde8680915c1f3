using SkiaSharp;

namespace Magma.Inference.Imaging;

/// <summary>
/// The LIBERO camera-frame transform applied before the Magma processor (spec §6.2): rotate 180°, JPEG round-trip
/// at quality 95 (as the RLDS training data went through), and make the frame 256×256.
/// </summary>
public static class LiberoFrame
{
    /// <summary>Side of the frame the LIBERO policies were trained on.</summary>
    public const int FrameSize = 256;

    /// <summary>JPEG quality of the round-trip (TensorFlow's default used by the RLDS builder).</summary>
    public const int JpegQuality = 95;

    /// <summary>
    /// Prepares <c>obs["agentview_image"]</c> for the model: 180° rotation, JPEG encode/decode, then a resize to
    /// 256×256 only if the frame is another size. The reference resizes with TensorFlow's lanczos3 (antialiased);
    /// here a Skia cubic (Mitchell) or mipmapped linear filter is used, so only non-256 inputs differ more than the
    /// JPEG codec already makes them (libjpeg vs Skia's encoder: expect small per-pixel differences).
    /// </summary>
    public static RgbImage Prepare(RgbImage agentView)
    {
        ArgumentNullException.ThrowIfNull(agentView);
        RgbImage rotated = Rotate180(agentView);
        byte[] jpeg = rotated.EncodeJpeg(JpegQuality);
        RgbImage decoded = RgbImage.Decode(jpeg, sourceName: "LIBERO frame");
        return decoded.Width == FrameSize && decoded.Height == FrameSize ? decoded : Resize(decoded, FrameSize, FrameSize);
    }

    /// <summary>Rotates by 180° (reverses both rows and columns), as the LIBERO evaluation does with <c>img[::-1, ::-1]</c>.</summary>
    public static RgbImage Rotate180(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        ReadOnlySpan<byte> src = image.Span;
        byte[] dst = new byte[src.Length];
        int n = image.Width * image.Height;
        // Reversing both axes of an HWC image is reversing the order of its pixels.
        for (int i = 0, j = (n - 1) * 3; i < n * 3; i += 3, j -= 3)
        {
            dst[j] = src[i];
            dst[j + 1] = src[i + 1];
            dst[j + 2] = src[i + 2];
        }

        return RgbImage.Wrap(image.Width, image.Height, dst);
    }

    internal static RgbImage Resize(RgbImage image, int width, int height)
    {
        using SKBitmap source = image.ToBitmap();
        bool down = width < image.Width || height < image.Height;
        // Downscaling with a plain cubic aliases; mipmaps give a cheap antialias closer to lanczos3 with antialias=True.
        SKSamplingOptions sampling = down
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKCubicResampler.Mitchell);
        using SKBitmap resized = source.Resize(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), sampling)
            ?? throw new InvalidOperationException("Skia could not resize the frame.");
        return RgbImage.FromBitmap(resized);
    }
}
