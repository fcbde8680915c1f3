using Magma.Inference.Imaging;
using Magma.Inference.Tests.Imaging;
using Magma.Plugins.Robotics.Libero;
using Xunit;

namespace Magma.Plugins.Robotics.Tests;

public sealed class LiberoFrameTests
{
    [Fact]
    public void Rotate180_reverses_rows_and_columns()
    {
        // 3x2, every pixel distinct: rotated (x, y) must equal original (w-1-x, h-1-y).
        byte[] rgb = TestImages.Pattern(3, 2, seed: 8);
        RgbImage image = RgbImage.FromPixels(3, 2, rgb);
        RgbImage rotated = LiberoFrame.Rotate180(image);
        Assert.Equal((3, 2), (rotated.Width, rotated.Height));
        for (int y = 0; y < 2; y++)
        {
            for (int x = 0; x < 3; x++)
            {
                Assert.Equal(TestImages.Pixel(image, 2 - x, 1 - y), TestImages.Pixel(rotated, x, y));
            }
        }
    }

    [Fact]
    public void Prepare_rotates_and_round_trips_through_jpeg()
    {
        // Non-symmetric smooth frame: R grows to the right, G grows downwards.
        RgbImage frame = RgbImage.FromPixels(256, 256, TestImages.Gradient(256, 256));
        RgbImage prepared = LiberoFrame.Prepare(frame);
        Assert.Equal((256, 256), (prepared.Width, prepared.Height));

        RgbImage rotated = LiberoFrame.Rotate180(frame);
        ReadOnlySpan<byte> a = prepared.Span, b = rotated.Span;
        long sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += Math.Abs(a[i] - b[i]);
        }

        Assert.True(sum / (double)a.Length < 2.0, $"mean abs diff {sum / (double)a.Length}");
        // After rotation the top-left is the original bottom-right: bright R and G.
        (byte r, byte g, _) = TestImages.Pixel(prepared, 2, 2);
        Assert.True(r > 240 && g > 240);
        // JPEG really happened: not bit-identical to the plain rotation.
        Assert.NotEqual(rotated.Pixels.ToArray(), prepared.Pixels.ToArray());
    }

    [Fact]
    public void Prepare_resizes_other_sizes_to_256()
    {
        RgbImage frame = RgbImage.FromPixels(128, 96, TestImages.Gradient(128, 96));
        RgbImage prepared = LiberoFrame.Prepare(frame);
        Assert.Equal((256, 256), (prepared.Width, prepared.Height));
        RgbImage big = LiberoFrame.Prepare(RgbImage.FromPixels(512, 400, TestImages.Gradient(512, 400)));
        Assert.Equal((256, 256), (big.Width, big.Height));
    }

    [Fact]
    public void The_system_libjpeg_turbo_is_installed()
    {
        // The fast path of every LIBERO step; .ci/run installs it. Without it Prepare still works (Skia), ~4.5x slower.
        Assert.True(TurboJpeg.IsAvailable, "libturbojpeg.so.0 could not be loaded: sudo apt-get install -y libturbojpeg0");
    }

    [Theory]
    [InlineData(256, 256, "noise")]
    [InlineData(256, 256, "gradient")]
    [InlineData(250, 130, "noise")]
    [InlineData(17, 9, "noise")]
    [InlineData(640, 480, "gradient")]
    public void System_codec_and_skia_give_the_same_round_trip_bytes(int width, int height, string kind)
    {
        // Both are libjpeg-turbo (accurate DCT, 4:2:0, fancy up-sampling): the fallback must not change what the model sees.
        RgbImage frame = RgbImage.FromPixels(width, height, kind == "noise" ? TestImages.Pattern(width, height, seed: width) : TestImages.Gradient(width, height));
        byte[] system = new byte[width * height * 3], skia = new byte[width * height * 3];
        LiberoFrame.JpegRoundTripRotated(frame, system, systemCodec: true);
        LiberoFrame.JpegRoundTripRotated(frame, skia, systemCodec: false);
        Assert.Equal(skia, system);
        Assert.Equal(RgbImage.Decode(LiberoFrame.Rotate180(frame).EncodeJpeg(LiberoFrame.JpegQuality)).Span.ToArray(), system);
    }
}
