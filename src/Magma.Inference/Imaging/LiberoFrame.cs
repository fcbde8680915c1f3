using System.Buffers;
using System.Runtime.ExceptionServices;
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
            Resize(RgbImage.Wrap(agentView.Width, agentView.Height, decoded), FrameSize, FrameSize).Span.CopyTo(destination);
        }

        return RgbImage.Wrap(FrameSize, FrameSize, destination);
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
        return RgbImage.Wrap(image.Width, image.Height, destination);
    }

    /// <summary>
    /// Rotation + JPEG (q95, 4:2:0) encode + decode into <paramref name="rgb"/> (same size as the input). The rotation
    /// writes the encoder's RGBA input directly (one pass into a pooled scratch); the encoder writes into a native
    /// stream that the decoder reads without a copy. Same bytes as rotate → <see cref="RgbImage.EncodeJpeg"/> →
    /// <see cref="RgbImage.Decode"/>.
    /// </summary>
    /// <remarks>
    /// Tall frames are coded as two overlapping horizontal bands on two threads, which halves the codec's latency
    /// (the codec is almost all of the per-step cost) and gives the same pixels: with 4:2:0 a JPEG is coded in
    /// 16-row MCU rows, and colour conversion, chroma down-sampling, DCT and quantisation only read the pixels of
    /// their own MCU, so a band that starts on an MCU row of the whole frame holds the same quantised coefficients
    /// there. On decoding, only the chroma up-sampling (libjpeg's "fancy" triangle filter) reads across MCU rows, one
    /// chroma row up or down; each band therefore overlaps the other by one MCU row (16 pixel rows) and contributes
    /// only its rows away from its cut edge. Tested byte for byte against the whole-frame round-trip on noise.
    /// </remarks>
    private static void JpegRoundTripRotated(RgbImage image, byte[] rgb)
    {
        int w = image.Width, h = image.Height, rgbaLength = checked(w * h * 4);
        byte[] rgba = ArrayPool<byte>.Shared.Rent(rgbaLength);
        try
        {
            RgbImage.Rotate180ToRgba(image.Span, rgba.AsSpan(0, rgbaLength));
            int cut = h / 2 / McuRows * McuRows;
            if (h >= MinSplitHeight && Environment.ProcessorCount > 1)
            {
                RoundTripInTwoBands(rgba, w, h, cut, rgb);
            }
            else
            {
                RoundTripBand(rgba, w, 0, h, 0, h, rgba, rgb);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    // 4:2:0 JPEG codes 16-pixel-row MCUs; below this height one band is cheaper than two threads.
    private const int McuRows = 16;
    private const int MinSplitHeight = 128;

    private static void RoundTripInTwoBands(byte[] rgba, int w, int h, int cut, byte[] rgb)
    {
        // Top band: rows [0, cut + 16), keeps [0, cut). Bottom band: rows [cut - 16, h), keeps [cut, h).
        int topRows = cut + McuRows, bottomFrom = cut - McuRows;
        byte[] topScratch = ArrayPool<byte>.Shared.Rent(topRows * w * 4);
        byte[] bottomScratch = ArrayPool<byte>.Shared.Rent((h - bottomFrom) * w * 4);
        try
        {
            using var bottom = new BandWork(rgba, w, bottomFrom, h - bottomFrom, cut, h - cut, bottomScratch, rgb);
            // The pool thread and this one race for the bottom band: whoever comes first codes it, so a busy pool
            // never makes the transform slower than coding both bands here.
            ThreadPool.UnsafeQueueUserWorkItem(static b => b.TryRun(), bottom, preferLocal: false);
            try
            {
                RoundTripBand(rgba, w, 0, topRows, 0, cut, topScratch, rgb);
            }
            finally
            {
                // Even when the top band failed: the pool thread may be writing the bottom band into our buffers.
                bottom.TryRun();
                bottom.Wait();
            }

            bottom.ThrowIfFailed();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(topScratch);
            ArrayPool<byte>.Shared.Return(bottomScratch);
        }
    }

    /// <summary>
    /// Encodes rows [<paramref name="from"/>, from + <paramref name="rows"/>) of the RGBA frame as one JPEG, decodes it
    /// into <paramref name="scratch"/> (which may be <paramref name="rgba"/> itself when the band is the whole frame)
    /// and writes rows [<paramref name="keepFrom"/>, keepFrom + <paramref name="keepRows"/>) as RGB into
    /// <paramref name="rgb"/> (indexed like the whole frame).
    /// </summary>
    private static void RoundTripBand(byte[] rgba, int w, int from, int rows, int keepFrom, int keepRows, byte[] scratch, Span<byte> rgb)
    {
        var info = new SKImageInfo(w, rows, SKColorType.Rgba8888, SKAlphaType.Opaque);
        unsafe
        {
            fixed (byte* source = rgba)
            fixed (byte* target = scratch)
            {
                using var stream = new SKDynamicMemoryWStream();
                using (var pixmap = new SKPixmap(info, (IntPtr)(source + ((long)from * w * 4)), w * 4))
                {
                    if (!pixmap.Encode(stream, new SKJpegEncoderOptions(JpegQuality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)))
                    {
                        throw new InvalidOperationException($"The JPEG encoder failed on a {w}x{rows} band of a LIBERO frame.");
                    }
                }

                using SKData jpeg = stream.DetachAsData();
                using SKCodec codec = SKCodec.Create(jpeg)
                    ?? throw new InvalidOperationException($"Skia could not read back the JPEG it encoded from a {w}x{rows} band of a LIBERO frame.");
                // A null colour space, as RgbImage.Decode: no ICC/gamma conversion (PIL applies none).
                var decoded = new SKImageInfo(w, rows, SKColorType.Rgba8888, SKAlphaType.Opaque, colorspace: null);
                SKCodecResult result = codec.GetPixels(decoded, (IntPtr)target, w * 4, new SKCodecOptions(0));
                if (result != SKCodecResult.Success)
                {
                    throw new InvalidOperationException($"Decoding the JPEG of a {w}x{rows} band of a LIBERO frame failed: {result}.");
                }
            }
        }

        RgbImage.RgbaToRgb(
            scratch.AsSpan((keepFrom - from) * w * 4, keepRows * w * 4),
            rgb.Slice(keepFrom * w * 3, keepRows * w * 3));
    }

    /// <summary>One band of <see cref="RoundTripInTwoBands"/>, run once by whichever thread claims it first.</summary>
    private sealed class BandWork(byte[] rgba, int w, int from, int rows, int keepFrom, int keepRows, byte[] scratch, byte[] rgb) : IDisposable
    {
        private readonly ManualResetEventSlim _done = new();
        private int _claimed;
        private ExceptionDispatchInfo? _error;

        internal void TryRun()
        {
            if (Interlocked.Exchange(ref _claimed, 1) != 0)
            {
                return;
            }

            try
            {
                RoundTripBand(rgba, w, from, rows, keepFrom, keepRows, scratch, rgb);
            }
            catch (Exception ex)
            {
                _error = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                _done.Set();
            }
        }

        internal void Wait() => _done.Wait();

        internal void ThrowIfFailed() => _error?.Throw();

        // Only after Wait (or when never queued): a pool item that loses the claim never touches the event.
        public void Dispose() => _done.Dispose();
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
