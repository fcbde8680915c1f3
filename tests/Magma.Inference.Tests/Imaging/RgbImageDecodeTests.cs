using Magma.Inference.Imaging;
using SkiaSharp;
using Xunit;

namespace Magma.Inference.Tests.Imaging;

public sealed class RgbImageDecodeTests
{
    [Fact]
    public void Png_round_trips_exactly()
    {
        byte[] rgb = TestImages.Pattern(7, 5);
        RgbImage image = RgbImage.Decode(TestImages.EncodeRgb(7, 5, rgb, SKEncodedImageFormat.Png));
        Assert.Equal(7, image.Width);
        Assert.Equal(5, image.Height);
        Assert.Equal(rgb, image.Pixels.ToArray());
    }

    [Fact]
    public void Lossless_webp_round_trips_exactly()
    {
        byte[] rgb = TestImages.Pattern(9, 4, seed: 3);
        RgbImage image = RgbImage.Decode(TestImages.EncodeRgb(9, 4, rgb, SKEncodedImageFormat.Webp));
        Assert.Equal(rgb, image.Pixels.ToArray());
    }

    [Fact]
    public void Jpeg_decodes_close_to_source()
    {
        byte[] rgb = TestImages.Gradient(32, 16);
        RgbImage image = RgbImage.Decode(TestImages.EncodeRgb(32, 16, rgb, SKEncodedImageFormat.Jpeg, quality: 100));
        Assert.Equal((32, 16), (image.Width, image.Height));
        ReadOnlySpan<byte> p = image.Span;
        int maxDiff = 0;
        for (int i = 0; i < rgb.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(p[i] - rgb[i]));
        }

        Assert.InRange(maxDiff, 0, 8);
    }

    [Fact]
    public void Bmp_decodes_exactly()
    {
        byte[] rgb = TestImages.Pattern(3, 2, seed: 5); // odd width exercises row padding
        RgbImage image = RgbImage.Decode(TestImages.Bmp(3, 2, rgb), sourceName: "x.bmp");
        Assert.Equal(rgb, image.Pixels.ToArray());
    }

    [Fact]
    public void Gif_yields_palette_colours_of_first_frame()
    {
        RgbImage image = RgbImage.Decode(TestImages.PaletteGif());
        Assert.Equal((2, 1), (image.Width, image.Height));
        Assert.Equal(((byte)255, (byte)0, (byte)0), TestImages.Pixel(image, 0, 0));
        Assert.Equal(((byte)0, (byte)0, (byte)255), TestImages.Pixel(image, 1, 0));
    }

    [Fact]
    public void Palette_png_yields_palette_colours()
    {
        // 2x1, 8-bit indices [1, 0]; palette 0 = (10, 20, 30), 1 = (200, 100, 50).
        byte[] png = TestImages.Png(2, 1, colorType: 3, bitDepth: 8, rawRows: [0, 1, 0], palette: [10, 20, 30, 200, 100, 50]);
        RgbImage image = RgbImage.Decode(png);
        Assert.Equal(new byte[] { 200, 100, 50, 10, 20, 30 }, image.Pixels.ToArray());
    }

    [Fact]
    public void Rgba_drops_alpha_without_compositing()
    {
        // Half-transparent and fully transparent pixels keep their RGB, as PIL's convert("RGB").
        byte[] rgba = [200, 50, 25, 128, 10, 220, 30, 0];
        RgbImage image = RgbImage.Decode(TestImages.EncodeRgba(2, 1, rgba, SKEncodedImageFormat.Png));
        Assert.Equal(new byte[] { 200, 50, 25, 10, 220, 30 }, image.Pixels.ToArray());
    }

    [Fact]
    public void Grayscale_is_replicated()
    {
        byte[] png = TestImages.Png(3, 1, colorType: 0, bitDepth: 8, rawRows: [0, 0, 77, 255]);
        RgbImage image = RgbImage.Decode(png);
        Assert.Equal(new byte[] { 0, 0, 0, 77, 77, 77, 255, 255, 255 }, image.Pixels.ToArray());
    }

    [Fact]
    public void Sixteen_bit_rgb_is_reduced_to_8_bit_within_one_of_the_high_byte()
    {
        ushort[] values = [0x0000, 0x00FF, 0x8000, 0x80FF, 0x7FFF, 0xFFFF];
        var row = new List<byte> { 0 };
        foreach (ushort v in values)
        {
            row.Add((byte)(v >> 8));
            row.Add((byte)v);
        }

        // 2 pixels x 3 channels of 16 bits.
        RgbImage image = RgbImage.Decode(TestImages.Png(2, 1, colorType: 2, bitDepth: 16, rawRows: [.. row]));
        byte[] p = image.Pixels.ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            Assert.InRange(p[i] - (values[i] >> 8), 0, 1);
        }

        Assert.Equal(0, p[0]);
        Assert.Equal(255, p[5]);
    }

    [Fact]
    public void Sixteen_bit_gray_is_scaled_not_clipped()
    {
        // PIL would clip 0x8000 to 255; we scale it to mid-grey (documented deviation).
        RgbImage image = RgbImage.Decode(TestImages.Png(1, 1, colorType: 0, bitDepth: 16, rawRows: [0, 0x80, 0x00]));
        Assert.InRange((int)image.Span[0], 127, 129);
        Assert.Equal(image.Span[0], image.Span[1]);
        Assert.Equal(image.Span[0], image.Span[2]);
    }

    [Fact]
    public void Exif_orientation_is_ignored_by_default_and_applied_on_request()
    {
        // 16x8: left half black, right half white (JPEG keeps such blocks close to exact).
        var rgb = new byte[16 * 8 * 3];
        for (int y = 0; y < 8; y++)
        {
            for (int x = 8; x < 16; x++)
            {
                rgb[((y * 16) + x) * 3] = rgb[(((y * 16) + x) * 3) + 1] = rgb[(((y * 16) + x) * 3) + 2] = 255;
            }
        }

        byte[] jpeg = TestImages.WithExifOrientation(TestImages.EncodeRgb(16, 8, rgb, SKEncodedImageFormat.Jpeg), orientation: 6);

        RgbImage stored = RgbImage.Decode(jpeg);
        Assert.Equal((16, 8), (stored.Width, stored.Height));

        // Orientation 6: rotate 90° clockwise to display -> 8x16, the stored left (black) half ends on top.
        RgbImage upright = RgbImage.Decode(jpeg, new ImageDecodeOptions { ApplyExifOrientation = true });
        Assert.Equal((8, 16), (upright.Width, upright.Height));
        Assert.True(TestImages.Pixel(upright, 4, 2).R < 40);
        Assert.True(TestImages.Pixel(upright, 4, 13).R > 215);
    }

    [Fact]
    public void Load_reads_a_file_and_names_it_in_errors()
    {
        string dir = Path.Combine(Path.GetTempPath(), "magma-imaging-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string good = Path.Combine(dir, "ok.png");
            File.WriteAllBytes(good, TestImages.EncodeRgb(2, 2, TestImages.Pattern(2, 2), SKEncodedImageFormat.Png));
            Assert.Equal(2, RgbImage.Load(good).Width);

            string bad = Path.Combine(dir, "broken.png");
            File.WriteAllBytes(bad, [1, 2, 3, 4, 5]);
            var e = Assert.Throws<MagmaInputException>(() => RgbImage.Load(bad));
            Assert.Contains("broken.png", e.Message, StringComparison.Ordinal);

            var missing = Assert.Throws<MagmaInputException>(() => RgbImage.Load(Path.Combine(dir, "nope.png")));
            Assert.Contains("nope.png", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Empty_input_is_rejected_with_source_name()
    {
        var e = Assert.Throws<MagmaInputException>(() => RgbImage.Decode([], sourceName: "upload.png"));
        Assert.Contains("upload.png", e.Message, StringComparison.Ordinal);
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_bytes_are_rejected_naming_the_default_source()
    {
        byte[] junk = new byte[256];
        new Random(7).NextBytes(junk);
        var e = Assert.Throws<MagmaInputException>(() => RgbImage.Decode(junk));
        Assert.Contains("'image'", e.Message, StringComparison.Ordinal);
        Assert.Contains("PNG", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_png_is_rejected()
    {
        byte[] png = TestImages.EncodeRgb(64, 64, TestImages.Pattern(64, 64), SKEncodedImageFormat.Png);
        byte[] cut = png.AsSpan(0, png.Length / 2).ToArray();
        var e = Assert.Throws<MagmaInputException>(() => RgbImage.Decode(cut, sourceName: "half.png"));
        Assert.Contains("half.png", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_pixel_data_is_rejected()
    {
        byte[] png = TestImages.EncodeRgb(64, 64, TestImages.Pattern(64, 64), SKEncodedImageFormat.Png);
        // Overwrite the middle of the compressed stream; the header stays valid.
        for (int i = png.Length / 3; i < (png.Length / 3) + 64; i++)
        {
            png[i] ^= 0x5A;
        }

        var e = Assert.Throws<MagmaInputException>(() => RgbImage.Decode(png, sourceName: "bad.png"));
        Assert.Contains("bad.png", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Huge_header_is_rejected_before_decoding()
    {
        byte[] png = TestImages.PngHeaderOnly(100_000, 100_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<MagmaInputException>(() => RgbImage.Decode(png, sourceName: "bomb.png"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("bomb.png", e.Message, StringComparison.Ordinal);
        Assert.Contains("100000x100000", e.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPixels", e.Message, StringComparison.Ordinal);
        // Nothing close to the 40 GB the pixels would need was touched.
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes");
    }

    [Fact]
    public void MaxPixels_option_is_honoured()
    {
        byte[] png = TestImages.EncodeRgb(10, 10, TestImages.Pattern(10, 10), SKEncodedImageFormat.Png);
        Assert.Throws<MagmaInputException>(() => RgbImage.Decode(png, new ImageDecodeOptions { MaxPixels = 99 }));
        Assert.Equal(10, RgbImage.Decode(png, new ImageDecodeOptions { MaxPixels = 100 }).Width);
    }

    [Fact]
    public void Zero_width_header_is_rejected()
    {
        byte[] png = TestImages.PngHeaderOnly(0, 10);
        var e = Assert.Throws<MagmaInputException>(() => RgbImage.Decode(png, sourceName: "zero.png"));
        Assert.Contains("zero.png", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromPixels_validates_length()
    {
        Assert.Throws<ArgumentException>(() => RgbImage.FromPixels(2, 2, new byte[11]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RgbImage.FromPixels(0, 2, []));
        Assert.Equal(2, RgbImage.FromPixels(2, 2, new byte[12]).Height);
    }

    [Fact]
    public void EncodePng_round_trips()
    {
        byte[] rgb = TestImages.Pattern(5, 3, seed: 11);
        RgbImage image = RgbImage.FromPixels(5, 3, rgb);
        Assert.Equal(rgb, RgbImage.Decode(image.EncodePng()).Pixels.ToArray());
    }
}
