using Magma.Inference.Imaging;
using Xunit;

namespace Magma.Inference.Tests.Imaging;

public sealed class ImagePreprocessorTests
{
    private static readonly ImagePreprocessor Default = new(PreprocessorConfig.Default);

    [Theory]
    // Spec §2.3, §2.4 and the "other common sizes" list, plus degenerate shapes. (width, height) -> (rows, cols).
    [InlineData(256, 256, 1, 1)]
    [InlineData(1280, 720, 2, 2)]
    [InlineData(640, 480, 1, 2)]
    [InlineData(1080, 2400, 3, 1)]
    [InlineData(720, 1280, 2, 2)]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3000, 200, 1, 4)]
    [InlineData(200, 3000, 4, 1)]
    [InlineData(1920, 1080, 2, 2)]
    [InlineData(1366, 768, 2, 2)]
    [InlineData(2560, 1440, 2, 2)]
    [InlineData(3840, 2160, 2, 2)]
    [InlineData(800, 800, 2, 2)]
    [InlineData(224, 224, 1, 1)]
    [InlineData(1024, 512, 1, 2)]
    [InlineData(512, 1024, 2, 1)]
    public void SelectGrid_matches_reference_rule(int width, int height, int rows, int cols)
    {
        Assert.Equal(new CropGrid(rows, cols), Default.SelectGrid(width, height));
    }

    [Fact]
    public void SelectGrid_uses_num_crops_and_base_size()
    {
        var p = new ImagePreprocessor(new PreprocessorConfig { BaseImageSize = 32, NumCrops = 9 });
        Assert.Equal(new CropGrid(2, 4), p.SelectGrid(1000, 300));
        var single = new ImagePreprocessor(new PreprocessorConfig { NumCrops = 1 });
        Assert.Equal(new CropGrid(1, 1), single.SelectGrid(3000, 200));
    }

    [Theory]
    [InlineData(1, 1, 512, 272)]
    [InlineData(2, 2, 512, 1056)]
    [InlineData(4, 1, 512, 1088)]
    [InlineData(1, 4, 512, 1040)]
    [InlineData(1, 2, 512, 528)]
    [InlineData(1, 1, 768, 600)]
    [InlineData(2, 2, 768, 2352)]
    [InlineData(1, 1, 256, 72)]
    public void ImageTokenCount_follows_row_separator_formula(int rows, int cols, int baseSize, int expected)
    {
        Assert.Equal(expected, ImagePreprocessor.ImageTokenCount(new CropGrid(rows, cols), baseSize));
    }

    [Fact]
    public void GetPixelCount_is_crops_times_3_B_squared()
    {
        Assert.Equal(4 * 3 * 512 * 512, Default.GetPixelCount(new CropGrid(2, 2)));
        Assert.Equal(4, new CropGrid(2, 2).CropCount);
    }

    [Fact]
    public void Bilinear_2x2_to_4x4_matches_hand_computed_pytorch_values()
    {
        // Identity normalisation (mean 0, std 1) so outputs are u/255. Red channel values 0, 255 / 51, 204.
        var p = new ImagePreprocessor(new PreprocessorConfig { ImageMean = [0f, 0f, 0f], ImageStd = [1f, 1f, 1f] });
        byte[] rgb = [0, 0, 0, 255, 0, 0, 51, 0, 0, 204, 0, 0];
        var dst = new float[3 * 4 * 4];
        p.Resize(rgb, 2, 2, 4, 4, 4, 4, dst);

        // PyTorch align_corners=False, scale 0.5: per-axis weights rows [1,0] [.75,.25] [.25,.75] [0,1]
        // (the last one because i0 is clamped to in-1 and i1 = i0 at the border).
        float[] expected =
        [
            0.00f, 0.250f, 0.750f, 1.00f,
            0.05f, 0.275f, 0.725f, 0.95f,
            0.15f, 0.325f, 0.675f, 0.85f,
            0.20f, 0.350f, 0.650f, 0.80f,
        ];
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(expected[i], dst[i], 1e-6f);
        }

        // Green and blue are all zero.
        Assert.All(dst[16..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Downscale_samples_without_antialias()
    {
        // 4 -> 2 along x: scale 2, src = 2*(d+0.5)-0.5 = 0.5, 2.5 -> averages of (0,1) and (2,3) only.
        var p = new ImagePreprocessor(new PreprocessorConfig { ImageMean = [0f, 0f, 0f], ImageStd = [1f, 1f, 1f] });
        byte[] rgb = [0, 0, 0, 102, 0, 0, 204, 0, 0, 255, 0, 0];
        var dst = new float[3 * 2];
        p.Resize(rgb, 4, 1, 2, 1, 2, 1, dst);
        Assert.Equal(51f / 255f, dst[0], 1e-6f);
        Assert.Equal(229.5f / 255f, dst[1], 1e-6f);
    }

    [Fact]
    public void Normalisation_uses_float32_to_tensor_then_normalize()
    {
        // 512x512 solid colour: resize is the identity, so every value is exactly ((float)u/255f - mean)/std.
        byte[] rgb = new byte[512 * 512 * 3];
        for (int i = 0; i < rgb.Length; i += 3)
        {
            rgb[i] = 0;
            rgb[i + 1] = 128;
            rgb[i + 2] = 255;
        }

        var dst = new float[3 * 512 * 512];
        Assert.Equal(new CropGrid(1, 1), Default.Preprocess(rgb, 512, 512, dst));
        float[] mean = [0.48145466f, 0.4578275f, 0.40821073f];
        float[] std = [0.26862954f, 0.26130258f, 0.27577711f];
        byte[] u = [0, 128, 255];
        for (int c = 0; c < 3; c++)
        {
            float want = ((u[c] / 255f) - mean[c]) / std[c];
            Assert.All(dst.AsSpan(c * 512 * 512, 512 * 512).ToArray(), v => Assert.Equal(want, v));
        }

        Assert.Equal(-1.7922626f, dst[0], 1e-6f);
    }

    [Fact]
    public void Crops_are_row_major_and_copy_exact_pixels_when_no_resize_is_needed()
    {
        // 1024x1024 -> 2x2 grid, resize is the identity: crop (r, c) pixel (y, x) = lut(image[r*512+y, c*512+x]).
        const int n = 1024, b = 512;
        byte[] rgb = TestImages.Pattern(n, n, seed: 42);
        var dst = new float[Default.GetPixelCount(new CropGrid(2, 2))];
        Assert.Equal(new CropGrid(2, 2), Default.Preprocess(rgb, n, n, dst));
        var cfg = PreprocessorConfig.Default;
        (int r, int c, int y, int x)[] probes = [(0, 0, 0, 0), (0, 1, 5, 7), (1, 0, 511, 3), (1, 1, 511, 511), (1, 1, 100, 200)];
        foreach ((int r, int col, int y, int x) in probes)
        {
            int srcIndex = (((r * b) + y) * n + (col * b) + x) * 3;
            for (int ch = 0; ch < 3; ch++)
            {
                float want = ((rgb[srcIndex + ch] / 255f) - cfg.ImageMean[ch]) / cfg.ImageStd[ch];
                float got = dst[((((r * 2) + col) * 3 + ch) * b * b) + (y * b) + x];
                Assert.Equal(want, got);
            }
        }
    }

    [Fact]
    public void Non_square_grid_puts_left_half_in_crop_0()
    {
        // 640x480 -> 1x2 grid (1024x512). Left half red, right half blue.
        byte[] rgb = new byte[640 * 480 * 3];
        for (int y = 0; y < 480; y++)
        {
            for (int x = 0; x < 640; x++)
            {
                int i = ((y * 640) + x) * 3;
                if (x < 320)
                {
                    rgb[i] = 255;
                }
                else
                {
                    rgb[i + 2] = 255;
                }
            }
        }

        var p = Default;
        CropGrid grid = p.SelectGrid(640, 480);
        var dst = new float[p.GetPixelCount(grid)];
        Assert.Equal(new CropGrid(1, 2), p.Preprocess(RgbImage.FromPixels(640, 480, rgb), dst));
        int plane = 512 * 512;
        float redHigh = (1f - 0.48145466f) / 0.26862954f;
        float blueHigh = (1f - 0.40821073f) / 0.27577711f;
        Assert.Equal(redHigh, dst[(0 * plane) + (256 * 512) + 100], 1e-5f); // crop 0, R
        Assert.Equal(blueHigh, dst[(5 * plane) + (256 * 512) + 400], 1e-5f); // crop 1, B
        Assert.True(dst[(3 * plane) + (256 * 512) + 400] < 0f); // crop 1, R is low
    }

    [Fact]
    public void Destination_too_small_says_how_many_floats_are_needed()
    {
        var e = Assert.Throws<ArgumentException>(() => Default.Preprocess(new byte[1280 * 720 * 3], 1280, 720, new float[10]));
        Assert.Contains((4 * 3 * 512 * 512).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_buffer_length_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => Default.Preprocess(new byte[10], 2, 2, new float[3 * 512 * 512]));
    }

    [Fact]
    public void Second_call_with_same_sizes_allocates_nothing()
    {
        var p = new ImagePreprocessor(PreprocessorConfig.Default);
        byte[] rgb = TestImages.Pattern(1280, 720, seed: 9);
        var dst = new float[p.GetPixelCount(p.SelectGrid(1280, 720))];
        p.Preprocess(rgb, 1280, 720, dst);
        float first = dst[123_456];

        long before = GC.GetAllocatedBytesForCurrentThread();
        p.Preprocess(rgb, 1280, 720, dst);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(first, dst[123_456]);
    }

    [Fact]
    public void Results_do_not_depend_on_earlier_calls()
    {
        // Cached rows from a previous image must not leak into the next one of the same size.
        var p = new ImagePreprocessor(PreprocessorConfig.Default);
        byte[] a = TestImages.Pattern(300, 200, seed: 1), b = TestImages.Pattern(300, 200, seed: 2);
        var fresh = new float[3 * 512 * 512];
        new ImagePreprocessor(PreprocessorConfig.Default).Preprocess(b, 300, 200, fresh);
        var dst = new float[3 * 512 * 512];
        p.Preprocess(a, 300, 200, dst);
        p.Preprocess(b, 300, 200, dst);
        Assert.Equal(fresh, dst);
    }

    [Fact]
    public void Concurrent_calls_give_the_same_result()
    {
        var p = new ImagePreprocessor(PreprocessorConfig.Default);
        byte[] rgb = TestImages.Pattern(640, 480, seed: 4);
        var reference = new float[2 * 3 * 512 * 512];
        p.Preprocess(rgb, 640, 480, reference);
        var outputs = new float[8][];
        Parallel.For(0, outputs.Length, i =>
        {
            outputs[i] = new float[reference.Length];
            p.Preprocess(rgb, 640, 480, outputs[i]);
        });
        Assert.All(outputs, o => Assert.Equal(reference, o));
    }
}
