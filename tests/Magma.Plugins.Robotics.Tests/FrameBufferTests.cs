using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Tests;

/// <summary>
/// The buffer-reusing frame paths (vectorised rotation and RGB/RGBA conversions, the JPEG round-trip into a
/// caller-owned buffer) give exactly the bytes of the straightforward per-pixel definitions.
/// </summary>
public sealed class FrameBufferTests
{
    private static byte[] Pattern(int width, int height, int seed)
    {
        var random = new Random(seed);
        var rgb = new byte[width * height * 3];
        random.NextBytes(rgb);
        return rgb;
    }

    private static byte[] Smooth(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int o = ((y * width) + x) * 3;
                rgb[o] = (byte)(x * 255 / Math.Max(1, width - 1));
                rgb[o + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                rgb[o + 2] = (byte)((x + y) % 64 * 4);
            }
        }

        return rgb;
    }

    private static byte[] NaiveRotate180(byte[] rgb, int width, int height)
    {
        var dst = new byte[rgb.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int s = ((((height - 1 - y) * width) + (width - 1 - x)) * 3), d = ((y * width) + x) * 3;
                dst[d] = rgb[s];
                dst[d + 1] = rgb[s + 1];
                dst[d + 2] = rgb[s + 2];
            }
        }

        return dst;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(5, 1)]
    [InlineData(6, 1)]
    [InlineData(7, 3)]
    [InlineData(11, 13)]
    [InlineData(256, 256)]
    public void Rotate180_matches_the_per_pixel_definition_at_every_size(int width, int height)
    {
        byte[] rgb = Pattern(width, height, width * 31 + height);
        RgbImage image = RgbImage.FromPixels(width, height, rgb);
        byte[] expected = NaiveRotate180(rgb, width, height);
        Assert.Equal(expected, LiberoFrame.Rotate180(image).Span.ToArray());

        byte[] destination = new byte[rgb.Length];
        Array.Fill(destination, (byte)0xAB);
        RgbImage rotated = LiberoFrame.Rotate180(image, destination);
        Assert.Same(destination, GetArray(rotated));
        Assert.Equal(expected, destination);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(7, 5)]
    [InlineData(64, 33)]
    public void Png_round_trip_through_the_vectorised_conversions_is_lossless(int width, int height)
    {
        // EncodePng converts RGB to RGBA and Decode converts back: any lane error in either shows up here.
        byte[] rgb = Pattern(width, height, 7 * width + height);
        RgbImage decoded = RgbImage.Decode(RgbImage.FromPixels(width, height, rgb).EncodePng());
        Assert.Equal(rgb, decoded.Span.ToArray());
    }

    [Fact]
    public void Prepare_into_a_buffer_gives_the_bytes_of_rotate_encode_decode()
    {
        RgbImage frame = RgbImage.FromPixels(256, 256, Smooth(256, 256));
        // The reference transform spelled out with the public primitives, one step at a time.
        RgbImage expected = RgbImage.Decode(LiberoFrame.Rotate180(frame).EncodeJpeg(LiberoFrame.JpegQuality));

        byte[] destination = new byte[256 * 256 * 3];
        RgbImage prepared = LiberoFrame.Prepare(frame, destination);
        Assert.Same(destination, GetArray(prepared));
        Assert.Equal(expected.Span.ToArray(), destination);
        Assert.Equal(expected.Span.ToArray(), LiberoFrame.Prepare(frame).Span.ToArray());

        // Reusing the buffer for another frame overwrites it with that frame's result.
        RgbImage other = RgbImage.FromPixels(256, 256, Pattern(256, 256, 3));
        LiberoFrame.Prepare(other, destination);
        Assert.Equal(RgbImage.Decode(LiberoFrame.Rotate180(other).EncodeJpeg(LiberoFrame.JpegQuality)).Span.ToArray(), destination);
    }

    // Frames whose middle rows change sharply in colour from row to row: chroma down- and up-sampling differences
    // between codecs show up there as differing bytes.
    private static byte[] SeamStripes(int width, int height, int seed)
    {
        byte[] rgb = Pattern(width, height, seed);
        var random = new Random(seed);
        for (int y = (height / 2) - 20; y < (height / 2) + 20; y++)
        {
            byte r = (byte)random.Next(256), g = (byte)random.Next(256), b = (byte)random.Next(256);
            for (int x = 0; x < width; x++)
            {
                int o = ((y * width) + x) * 3;
                (rgb[o], rgb[o + 1], rgb[o + 2]) = (y % 2 == 0) ? (r, g, b) : ((byte)(255 - r), (byte)(255 - g), (byte)(255 - b));
            }
        }

        return rgb;
    }

    [Theory]
    [InlineData("noise", 1)]
    [InlineData("noise", 2)]
    [InlineData("noise", 99)]
    [InlineData("stripes", 5)]
    [InlineData("stripes", 6)]
    [InlineData("smooth", 0)]
    public void Prepare_gives_the_bytes_of_the_step_by_step_jpeg_round_trip(string kind, int seed)
    {
        byte[] pixels = kind switch
        {
            "noise" => Pattern(256, 256, seed),
            "stripes" => SeamStripes(256, 256, seed),
            _ => Smooth(256, 256),
        };
        RgbImage frame = RgbImage.FromPixels(256, 256, pixels);
        byte[] expected = RgbImage.Decode(LiberoFrame.Rotate180(frame).EncodeJpeg(LiberoFrame.JpegQuality)).Span.ToArray();
        byte[] destination = new byte[256 * 256 * 3];
        for (int i = 0; i < 3; i++)
        {
            Array.Fill(destination, (byte)(0x11 * i));
            LiberoFrame.Prepare(frame, destination);
            Assert.Equal(expected, destination);
        }
    }

    [Fact]
    public async Task Prepare_from_many_threads_at_once_gives_every_frame_its_own_bytes()
    {
        // Parallel environments share the process: concurrent transforms must not share codec handles or buffers.
        RgbImage[] frames = [.. Enumerable.Range(0, 8).Select(i => RgbImage.FromPixels(256, 256, SeamStripes(256, 256, 100 + i)))];
        byte[][] expected = [.. frames.Select(f => RgbImage.Decode(LiberoFrame.Rotate180(f).EncodeJpeg(LiberoFrame.JpegQuality)).Span.ToArray())];
        byte[][] results = await Task.WhenAll(frames.Select((f, i) => Task.Run(() =>
        {
            byte[] destination = new byte[256 * 256 * 3];
            for (int k = 0; k < 5; k++)
            {
                LiberoFrame.Prepare(f, destination);
                Assert.Equal(expected[i], destination);
            }

            return destination;
        })));
        Assert.Equal(expected, results);
    }

    [Fact]
    public void Prepare_refuses_a_destination_of_the_wrong_size()
    {
        RgbImage frame = RgbImage.FromPixels(256, 256, Smooth(256, 256));
        ArgumentException e = Assert.Throws<ArgumentException>(() => LiberoFrame.Prepare(frame, new byte[256 * 256 * 4]));
        Assert.Contains("196608", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => LiberoFrame.Rotate180(frame, new byte[10]));
    }

    private static byte[] GetArray(RgbImage image) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(image.Pixels, out ArraySegment<byte> segment) ? segment.Array! : [];
}
