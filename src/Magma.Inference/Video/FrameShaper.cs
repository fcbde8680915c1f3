using Magma.Inference.Imaging;

namespace Magma.Inference.Video;

/// <summary>
/// Limits the crops a frame gets. The engine picks each image's grid among the package's <c>num_crops</c> (4 for
/// Magma-8B); a frame limited to fewer crops is first stretched here to exactly the limited grid's size
/// (cols·B × rows·B), which the engine then maps onto that grid with an identity resize. The stretch uses the
/// reference's bilinear rule (PyTorch, <c>align_corners=False</c>, no antialias) on the 8-bit values and rounds to
/// 8 bits: within half a grey level of the reference processor run with <c>num_crops</c> = the limit. Frames whose
/// grid is the same either way pass through untouched (bit-exact).
/// </summary>
internal sealed class FrameShaper
{
    private readonly ImagePreprocessor _package;
    private readonly ImagePreprocessor _limited;
    private readonly int _base;

    public FrameShaper(ImagePreprocessor package, int maxCrops)
    {
        _package = package;
        _base = package.BaseImageSize;
        PreprocessorConfig c = package.Config;
        int crops = Math.Clamp(maxCrops, 1, c.NumCrops);
        _limited = crops == c.NumCrops ? package : new ImagePreprocessor(new PreprocessorConfig
        {
            BaseImageSize = c.BaseImageSize,
            NumCrops = crops,
            ImageMean = c.ImageMean,
            ImageStd = c.ImageStd,
            AnyresStrategy = c.AnyresStrategy,
        });
        Crops = crops;
    }

    /// <summary>The effective crop limit (capped at the package's num_crops).</summary>
    public int Crops { get; }

    /// <summary>The grid a frame of this size gets under the limit.</summary>
    public CropGrid GridFor(int width, int height) => _limited.SelectGrid(width, height);

    /// <summary>
    /// The image to hand the engine for <paramref name="frame"/>: the frame itself when its grid is already within the
    /// limit, else the stretched copy in a pooled buffer (<paramref name="pooled"/>, to return with <see cref="FrameBufferPool.Return"/>).
    /// </summary>
    public RgbImage Shape(RgbImage frame, out byte[]? pooled)
    {
        pooled = null;
        CropGrid grid = _limited.SelectGrid(frame.Width, frame.Height);
        if (grid == _package.SelectGrid(frame.Width, frame.Height))
        {
            return frame;
        }

        int outW = grid.Cols * _base, outH = grid.Rows * _base;
        pooled = FrameBufferPool.Rent(checked(outW * outH * 3));
        Resize(frame.Span, frame.Width, frame.Height, pooled, outW, outH);
        return RgbImage.FromPixels(outW, outH, pooled);
    }

    /// <summary>Bilinear stretch of HWC RGB bytes (PyTorch index/weight rule, float32), rounded to the nearest level.</summary>
    internal static void Resize(ReadOnlySpan<byte> src, int inW, int inH, Span<byte> dst, int outW, int outH)
    {
        (int[] x0, int[] x1, float[] wx) = Axis(inW, outW);
        (int[] y0, int[] y1, float[] wy) = Axis(inH, outH);
        float[] rowA = new float[outW * 3], rowB = new float[outW * 3];
        int tagA = -1, tagB = -1;
        for (int y = 0; y < outH; y++)
        {
            if (tagA != y0[y])
            {
                if (tagB == y0[y])
                {
                    (rowA, rowB, tagA, tagB) = (rowB, rowA, tagB, tagA);
                }
                else
                {
                    Horizontal(src.Slice(y0[y] * inW * 3, inW * 3), x0, x1, wx, rowA);
                    tagA = y0[y];
                }
            }

            if (tagB != y1[y])
            {
                Horizontal(src.Slice(y1[y] * inW * 3, inW * 3), x0, x1, wx, rowB);
                tagB = y1[y];
            }

            float b = wy[y], a = 1f - b;
            Span<byte> o = dst.Slice(y * outW * 3, outW * 3);
            for (int i = 0; i < o.Length; i++)
            {
                o[i] = (byte)((rowA[i] * a) + (rowB[i] * b) + 0.5f);
            }
        }
    }

    private static void Horizontal(ReadOnlySpan<byte> row, int[] x0, int[] x1, float[] wx, float[] output)
    {
        for (int x = 0; x < x0.Length; x++)
        {
            int p0 = x0[x] * 3, p1 = x1[x] * 3;
            float b = wx[x], a = 1f - b;
            int o = x * 3;
            output[o] = (row[p0] * a) + (row[p1] * b);
            output[o + 1] = (row[p0 + 1] * a) + (row[p1 + 1] * b);
            output[o + 2] = (row[p0 + 2] * a) + (row[p1 + 2] * b);
        }
    }

    private static (int[] I0, int[] I1, float[] W1) Axis(int inSize, int outSize)
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var w1 = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int d = 0; d < outSize; d++)
        {
            float s = Math.Max((scale * (d + 0.5f)) - 0.5f, 0f);
            int i = Math.Min((int)s, inSize - 1);
            i0[d] = i;
            i1[d] = i + (i < inSize - 1 ? 1 : 0);
            w1[d] = Math.Clamp(s - i, 0f, 1f);
        }

        return (i0, i1, w1);
    }
}
