using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
        for (int x = 0; x < outW; x++)
        {
            x0[x] *= 3;
            x1[x] *= 3;
        }

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

            Vertical(rowA, rowB, wy[y], dst.Slice(y * outW * 3, outW * 3));
        }
    }

    // row value = p0 * a + p1 * b per channel (x offsets pre-multiplied by 3); the offsets are within the row.
    private static void Horizontal(ReadOnlySpan<byte> row, int[] x0, int[] x1, float[] wx, float[] output)
    {
        ref byte r = ref MemoryMarshal.GetReference(row);
        ref float o = ref MemoryMarshal.GetArrayDataReference(output);
        for (int x = 0; x < x0.Length; x++)
        {
            ref byte p0 = ref Unsafe.Add(ref r, x0[x]);
            ref byte p1 = ref Unsafe.Add(ref r, x1[x]);
            float b = wx[x], a = 1f - b;
            ref float q = ref Unsafe.Add(ref o, x * 3);
            q = (p0 * a) + (p1 * b);
            Unsafe.Add(ref q, 1) = (Unsafe.Add(ref p0, 1) * a) + (Unsafe.Add(ref p1, 1) * b);
            Unsafe.Add(ref q, 2) = (Unsafe.Add(ref p0, 2) * a) + (Unsafe.Add(ref p1, 2) * b);
        }
    }

    // out = (byte)(rowA * a + rowB * b + 0.5): the same float operations in the same order, Vector<T>-wide; values
    // are within [0, 255.5], so truncating to int and narrowing to bytes is the scalar cast.
    private static void Vertical(float[] rowA, float[] rowB, float b, Span<byte> output)
    {
        float a = 1f - b;
        int i = 0;
        int width = Vector<float>.Count * 4;
        if (Vector.IsHardwareAccelerated)
        {
            ref float ra = ref MemoryMarshal.GetArrayDataReference(rowA);
            ref float rb = ref MemoryMarshal.GetArrayDataReference(rowB);
            ref byte ro = ref MemoryMarshal.GetReference(output);
            Vector<float> va = new(a), vb = new(b), half = new(0.5f);
            for (; i <= output.Length - width; i += width)
            {
                Vector<uint> q0 = Level(ref ra, ref rb, i, va, vb, half);
                Vector<uint> q1 = Level(ref ra, ref rb, i + Vector<float>.Count, va, vb, half);
                Vector<uint> q2 = Level(ref ra, ref rb, i + (2 * Vector<float>.Count), va, vb, half);
                Vector<uint> q3 = Level(ref ra, ref rb, i + (3 * Vector<float>.Count), va, vb, half);
                Vector.Narrow(Vector.Narrow(q0, q1), Vector.Narrow(q2, q3)).StoreUnsafe(ref ro, (nuint)i);
            }
        }

        for (; i < output.Length; i++)
        {
            output[i] = (byte)((rowA[i] * a) + (rowB[i] * b) + 0.5f);
        }
    }

    private static Vector<uint> Level(ref float ra, ref float rb, int i, Vector<float> a, Vector<float> b, Vector<float> half) =>
        Vector.AsVectorUInt32(Vector.ConvertToInt32((Vector.LoadUnsafe(ref ra, (nuint)i) * a) + (Vector.LoadUnsafe(ref rb, (nuint)i) * b) + half));

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
