using System.Buffers;
using Magma.Inference.Imaging;
using SkiaSharp;

namespace Magma.Plugins.Robotics.Libero;

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
    /// here a Skia cubic (Mitchell) or mipmapped linear filter is used, so non-256 inputs differ slightly. The JPEG codec
    /// is libjpeg-turbo (accurate integer DCT, 4:2:0, fancy up-sampling), as in the reference's TensorFlow: the system's
    /// <c>libturbojpeg</c> when installed (fast), else the copy inside Skia (same bytes, about 4.5 times slower).
    /// </summary>
    public static RgbImage Prepare(RgbImage agentView) =>
        Prepare(agentView, GC.AllocateUninitializedArray<byte>(FrameSize * FrameSize * 3));

    /// <summary>
    /// <see cref="Prepare(RgbImage)"/> into a caller-owned buffer, for per-step loops that reuse their buffers
    /// (a new 196 KB array per frame lands on the large-object heap and costs gen-2 collections). The result is
    /// the same pixels as <see cref="Prepare(RgbImage)"/>.
    /// </summary>
    /// <param name="agentView">The frame as the simulator returned it.</param>
    /// <param name="destination">
    /// Exactly <c>256 × 256 × 3</c> bytes. The returned image wraps it (no copy): it shows whatever the caller later
    /// writes there, so reuse the buffer only once the image is no longer needed.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has the wrong length.</exception>
    public static RgbImage Prepare(RgbImage agentView, byte[] destination)
    {
        ArgumentNullException.ThrowIfNull(agentView);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Length != FrameSize * FrameSize * 3)
        {
            throw new ArgumentException(
                $"The destination of a prepared LIBERO frame must hold {FrameSize}*{FrameSize}*3 = {FrameSize * FrameSize * 3} bytes, but it holds {destination.Length}.",
                nameof(destination));
        }

        if (agentView.Width == FrameSize && agentView.Height == FrameSize)
        {
            JpegRoundTripRotated(agentView, destination);
        }
        else
        {
            byte[] decoded = GC.AllocateUninitializedArray<byte>(agentView.Width * agentView.Height * 3);
            JpegRoundTripRotated(agentView, decoded);
            Resize(RgbImage.FromPixels(agentView.Width, agentView.Height, decoded), FrameSize, FrameSize).Span.CopyTo(destination);
        }

        return RgbImage.FromPixels(FrameSize, FrameSize, destination);
    }

    /// <summary>Rotates by 180° (reverses both rows and columns), as the LIBERO evaluation does with <c>img[::-1, ::-1]</c>.</summary>
    public static RgbImage Rotate180(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Rotate180(image, GC.AllocateUninitializedArray<byte>(image.Span.Length));
    }

    /// <summary>
    /// <see cref="Rotate180(RgbImage)"/> into a caller-owned buffer of exactly <c>Width × Height × 3</c> bytes (not the
    /// image's own). The returned image wraps it (no copy).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> has the wrong length.</exception>
    public static RgbImage Rotate180(RgbImage image, byte[] destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Length != image.Span.Length)
        {
            throw new ArgumentException(
                $"The destination of a {image.Width}x{image.Height} rotation must hold {image.Span.Length} bytes, but it holds {destination.Length}.",
                nameof(destination));
        }

        // Reversing both axes of an HWC image is reversing the order of its pixels.
        RgbImage.Rotate180Rgb(image.Span, destination);
        return RgbImage.FromPixels(image.Width, image.Height, destination);
    }

    /// <summary>
    /// Rotation + JPEG (q95, 4:2:0) encode + decode into <paramref name="rgb"/> (same size as the input): the same bytes
    /// as rotate → <see cref="RgbImage.EncodeJpeg"/> → <see cref="RgbImage.Decode"/>.
    /// </summary>
    /// <remarks>
    /// The codec is almost all of a LIBERO step's overhead, so it runs on the system's libjpeg-turbo when installed
    /// (<see cref="TurboJpeg"/>: ≈ 0.2 ms for a 256×256 frame against ≈ 1 ms through Skia, same bytes), else on Skia.
    /// </remarks>
    private static void JpegRoundTripRotated(RgbImage image, byte[] rgb) => JpegRoundTripRotated(image, rgb, TurboJpeg.IsAvailable);

    /// <summary><see cref="JpegRoundTripRotated(RgbImage, byte[])"/> with the codec chosen by the caller (tests compare them).</summary>
    internal static void JpegRoundTripRotated(RgbImage image, byte[] rgb, bool systemCodec)
    {
        int w = image.Width, h = image.Height;
        if (systemCodec)
        {
            // In place: the encoder has read every pixel before the decoder writes one.
            RgbImage.Rotate180Rgb(image.Span, rgb);
            TurboJpeg.RoundTrip(rgb, w, h, JpegQuality, rgb);
            return;
        }

        int rgbaLength = checked(w * h * 4);
        byte[] rgba = ArrayPool<byte>.Shared.Rent(rgbaLength);
        try
        {
            RgbImage.Rotate180ToRgba(image.Span, rgba.AsSpan(0, rgbaLength));
            SkiaRoundTrip(rgba, w, h, rgb);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>
    /// Encodes the RGBA frame as one JPEG into a native stream, decodes it in place over <paramref name="rgba"/> (no
    /// managed copy of the JPEG) and writes it as RGB into <paramref name="rgb"/>.
    /// </summary>
    private static void SkiaRoundTrip(byte[] rgba, int w, int h, byte[] rgb)
    {
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        unsafe
        {
            fixed (byte* pixels = rgba)
            {
                using var stream = new SKDynamicMemoryWStream();
                using (var pixmap = new SKPixmap(info, (IntPtr)pixels, w * 4))
                {
                    if (!pixmap.Encode(stream, new SKJpegEncoderOptions(JpegQuality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)))
                    {
                        throw new InvalidOperationException($"The JPEG encoder failed on a {w}x{h} LIBERO frame.");
                    }
                }

                using SKData jpeg = stream.DetachAsData();
                using SKCodec codec = SKCodec.Create(jpeg)
                    ?? throw new InvalidOperationException($"Skia could not read back the JPEG it encoded from a {w}x{h} LIBERO frame.");
                // A null colour space, as RgbImage.Decode: no ICC/gamma conversion (PIL applies none).
                var decoded = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque, colorspace: null);
                SKCodecResult result = codec.GetPixels(decoded, (IntPtr)pixels, w * 4, new SKCodecOptions(0));
                if (result != SKCodecResult.Success)
                {
                    throw new InvalidOperationException($"Decoding the JPEG of a {w}x{h} LIBERO frame failed: {result}.");
                }
            }
        }

        RgbImage.RgbaToRgb(rgba.AsSpan(0, w * h * 4), rgb);
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
