using Magma.Inference.Imaging;
using SkiaSharp;

namespace Magma.Inference.Video;

/// <summary>
/// Animated GIFs through SkiaSharp's codec (the image decoder <see cref="RgbImage"/> uses for the first frame):
/// frames are composited in order into one RGBA canvas, each decoded on top of the previous one when the GIF says it
/// depends on it, so frame k is what a player shows. Timestamps are the sum of the earlier frames' delays.
/// </summary>
internal static class GifFrames
{
    public static VideoInfo Probe(string path, VideoDecoderOptions options)
    {
        using SKCodec codec = Open(path);
        SKImageInfo header = codec.Info;
        if ((long)header.Width * header.Height > options.MaxFramePixels)
        {
            throw new MagmaInputException($"GIF '{path}' is {header.Width}x{header.Height}, more than VideoDecoderOptions.MaxFramePixels ({options.MaxFramePixels}).");
        }

        int frames = Math.Max(1, codec.FrameCount);
        double totalMs = 0;
        foreach (SKCodecFrameInfo f in codec.FrameInfo)
        {
            totalMs += f.Duration;
        }

        double seconds = totalMs / 1000.0;
        return new VideoInfo(path, header.Width, header.Height, frames, seconds > 0 ? frames / seconds : 0, TimeSpan.FromSeconds(seconds)) { IsGif = true };
    }

    public static IEnumerable<VideoFrame> Read(string path, VideoInfo info, IReadOnlyList<int> indices, CancellationToken cancellationToken)
    {
        using SKCodec codec = Open(path);
        SKCodecFrameInfo[] frameInfo = codec.FrameInfo;
        int w = info.Width, h = info.Height;
        // Unpremul keeps the RGB of translucent pixels, as RgbImage.Decode does; no colour space, no conversion.
        var target = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul, colorspace: null);
        byte[] canvas = new byte[checked(w * h * 4)];
        int next = 0;
        double elapsedMs = 0;
        int last = -1;
        for (int frame = 0; frame <= indices[^1]; frame++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int required = frame < frameInfo.Length ? frameInfo[frame].RequiredFrame : -1;
            // The canvas holds frame - 1; when that is the frame this one builds on, let Skia draw over it.
            // Otherwise Skia decodes whatever the frame needs itself.
            int prior = required >= 0 && required == last ? last : -1;
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = canvas)
                {
                    result = codec.GetPixels(target, (IntPtr)p, target.RowBytes, new SKCodecOptions(frame, prior));
                }
            }

            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            {
                throw new MagmaInputException($"GIF '{path}': frame {frame} could not be decoded ({result}). The file may be corrupt.");
            }

            last = frame;
            if (frame == indices[next])
            {
                byte[] rgb = FrameBufferPool.Rent(w * h * 3);
                RgbImage.RgbaToRgb(canvas, rgb);
                yield return new VideoFrame(RgbImage.FromPixels(w, h, rgb), frame, TimeSpan.FromMilliseconds(elapsedMs), rgb);
                next++;
            }

            elapsedMs += frame < frameInfo.Length ? frameInfo[frame].Duration : 0;
        }
    }

    private static SKCodec Open(string path)
    {
        SKCodec? codec;
        try
        {
            codec = SKCodec.Create(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MagmaInputException($"GIF '{path}' could not be read ({e.Message}).", e);
        }

        if (codec is null || codec.Info.Width <= 0 || codec.Info.Height <= 0)
        {
            codec?.Dispose();
            throw new MagmaInputException($"GIF '{path}' is not a readable GIF (corrupt header). Re-export it or pass an MP4/WebM.");
        }

        return codec;
    }
}
