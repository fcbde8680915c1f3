using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Magma.Inference.Imaging;

/// <summary>
/// Turns an 8-bit RGB image into Magma's <c>pixel_values</c>: scale to [0, 1], CLIP-normalise, pick the crop grid
/// (LLaVA-NeXT best-fit among at most <see cref="PreprocessorConfig.NumCrops"/> crops), stretch with PyTorch's
/// bilinear rule (<c>align_corners=False</c>, no antialias) and cut into square crops in row-major order.
/// Matches the reference <c>MagmaImageProcessor</c> to float32 rounding.
/// </summary>
/// <remarks>
/// Thread-safety: all public members are safe to call concurrently. Each call borrows the instance's cached
/// resize tables and row buffers; a call that finds them in use by another thread builds its own (and allocates).
/// A single thread calling repeatedly with the same input and output sizes allocates nothing after the first call.
/// </remarks>
public sealed class ImagePreprocessor
{
    private readonly int _base;
    private readonly (int Width, int Height)[] _candidates;
    // 256-entry lookup per channel: ((float)u / 255f - mean[c]) / std[c], computed once in float32 exactly as
    // torchvision's ToTensor (div by 255) followed by Normalize (sub, then div).
    private readonly float[] _lut = new float[3 * 256];
    private Scratch? _scratch;

    /// <summary>Creates a preprocessor for the given settings (values are copied and validated).</summary>
    /// <exception cref="ArgumentException">The settings are invalid (size not a positive multiple of 32, bad mean/std).</exception>
    public ImagePreprocessor(PreprocessorConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.BaseImageSize <= 0 || config.BaseImageSize % 32 != 0)
        {
            throw new ArgumentException($"BaseImageSize must be a positive multiple of 32, got {config.BaseImageSize}.", nameof(config));
        }

        if (config.NumCrops < 1)
        {
            throw new ArgumentException($"NumCrops must be at least 1, got {config.NumCrops}.", nameof(config));
        }

        if (config.ImageMean is not { Length: 3 } || config.ImageStd is not { Length: 3 })
        {
            throw new ArgumentException("ImageMean and ImageStd must each hold 3 values (R, G, B).", nameof(config));
        }

        _base = config.BaseImageSize;
        Config = config;
        var candidates = new List<(int, int)>();
        // Same order as the reference: i (width multiplier) outer, j (height multiplier) inner; order decides ties.
        for (int i = 1; i <= config.NumCrops; i++)
        {
            for (int j = 1; j <= config.NumCrops / i; j++)
            {
                candidates.Add((i * _base, j * _base));
            }
        }

        _candidates = [.. candidates];
        for (int c = 0; c < 3; c++)
        {
            float mean = config.ImageMean[c], std = config.ImageStd[c];
            if (!float.IsFinite(mean) || !float.IsFinite(std) || std <= 0f)
            {
                throw new ArgumentException($"ImageMean/ImageStd channel {c} must be finite with a positive std.", nameof(config));
            }

            for (int u = 0; u < 256; u++)
            {
                float x = u / 255f;
                _lut[(c * 256) + u] = (x - mean) / std;
            }
        }
    }

    /// <summary>The settings this preprocessor was built from.</summary>
    public PreprocessorConfig Config { get; }

    /// <summary>Side of one crop in pixels.</summary>
    public int BaseImageSize => _base;

    /// <summary>
    /// Picks the crop grid for an image of the given size (spec §2.1 steps 4-5): among candidates (i·B, j·B),
    /// i = 1..N, j = 1..N/i, the one with the largest effective resolution, then the least waste; first wins ties.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Width or height is not positive.</exception>
    public CropGrid SelectGrid(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        long area = (long)width * height;
        long bestEffective = 0;
        long bestWasted = long.MaxValue;
        (int w, int h) best = _candidates[0];
        foreach ((int w, int h) in _candidates)
        {
            // Python: true division in double, int() truncates toward zero.
            double scale = Math.Min((double)w / width, (double)h / height);
            long dw = (long)(width * scale), dh = (long)(height * scale);
            long effective = Math.Min(dw * dh, area);
            long wasted = ((long)w * h) - effective;
            if (effective > bestEffective || (effective == bestEffective && wasted < bestWasted))
            {
                bestEffective = effective;
                bestWasted = wasted;
                best = (w, h);
            }
        }

        return new CropGrid(best.h / _base, best.w / _base);
    }

    /// <summary>Number of floats <c>pixel_values</c> needs for this grid: crops × 3 × B × B.</summary>
    public int GetPixelCount(CropGrid grid) => checked(grid.CropCount * 3 * _base * _base);

    /// <summary>Image embeddings the model produces for this grid with this preprocessor's crop size.</summary>
    public int ImageTokenCount(CropGrid grid) => ImageTokenCount(grid, _base);

    /// <summary>
    /// Image embeddings produced for a grid with the row separator (spec §2.2): (rows·s)·(cols·s + 1), s = baseSize/32.
    /// </summary>
    public static int ImageTokenCount(CropGrid grid, int baseSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baseSize);
        int s = baseSize / 32;
        return grid.Rows * s * ((grid.Cols * s) + 1);
    }

    /// <summary>Writes this image's <c>pixel_values</c>; see the other overload.</summary>
    public CropGrid Preprocess(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Preprocess(image.Span, image.Width, image.Height, destination);
    }

    /// <summary>
    /// Writes <c>pixel_values</c> for one image: shape (CropCount, 3, B, B), float32, crops in row-major order
    /// (crop (r, c) at index r·Cols + c). Use <see cref="SelectGrid"/> and <see cref="GetPixelCount"/> to size
    /// <paramref name="destination"/> beforehand.
    /// </summary>
    /// <param name="rgb">HWC uint8 RGB, length width × height × 3.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="destination">Receives the crops; may be longer than needed (the rest is untouched).</param>
    /// <returns>The grid used.</returns>
    /// <exception cref="ArgumentException">The pixel buffer does not match the size, or the destination is too small.</exception>
    public CropGrid Preprocess(ReadOnlySpan<byte> rgb, int width, int height, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgb.Length != (long)width * height * 3)
        {
            throw new ArgumentException($"The RGB buffer for {width}x{height} must hold {(long)width * height * 3} bytes, but it holds {rgb.Length}.", nameof(rgb));
        }

        CropGrid grid = SelectGrid(width, height);
        int needed = GetPixelCount(grid);
        if (destination.Length < needed)
        {
            throw new ArgumentException(
                $"destination holds {destination.Length} floats but a {grid.Rows}x{grid.Cols} grid of {_base}px crops needs {needed} (crops*3*{_base}*{_base}); size it with GetPixelCount(SelectGrid(width, height)).",
                nameof(destination));
        }

        Resize(rgb, width, height, grid.Cols * _base, grid.Rows * _base, _base, _base, destination);
        return grid;
    }

    /// <summary>
    /// Normalises and bilinearly resizes to outW × outH, writing tiles of tileW × tileH (tile-major, then channel,
    /// then row). With tileW = outW and tileH = outH this is a plain (3, outH, outW) tensor.
    /// </summary>
    internal void Resize(ReadOnlySpan<byte> rgb, int inW, int inH, int outW, int outH, int tileW, int tileH, Span<float> destination)
    {
        if (inW == outW && inH == outH)
        {
            Normalise(rgb, outW, outH, tileW, tileH, destination);
            return;
        }

        Scratch s = Interlocked.Exchange(ref _scratch, null) ?? new Scratch();
        try
        {
            s.Prepare(inW, inH, outW, outH);
            int tilesPerRow = outW / tileW;
            int tileArea = tileW * tileH;
            for (int y = 0; y < outH; y++)
            {
                float[] rowA = s.Row(s.Y0[y], s.Y1[y], rgb, _lut);
                float[] rowB = s.Row(s.Y1[y], s.Y0[y], rgb, _lut);
                float h0 = s.Wy0[y], h1 = s.Wy1[y];
                int tileRow = y / tileH, inTileY = y % tileH;
                for (int c = 0; c < 3; c++)
                {
                    ReadOnlySpan<float> a = rowA.AsSpan(c * outW, outW);
                    ReadOnlySpan<float> b = rowB.AsSpan(c * outW, outW);
                    for (int t = 0; t < tilesPerRow; t++)
                    {
                        int dst = ((((tileRow * tilesPerRow) + t) * 3) + c) * tileArea + (inTileY * tileW);
                        Blend(a.Slice(t * tileW, tileW), b.Slice(t * tileW, tileW), h0, h1, destination.Slice(dst, tileW));
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _scratch, s);
        }
    }

    /// <summary>
    /// <see cref="Resize"/> of an image already at the output size (a video frame shaped to its grid, a 512² picture):
    /// PyTorch's weights are then exactly 1 and 0 on both axes, so every value is its lookup-table entry.
    /// </summary>
    private void Normalise(ReadOnlySpan<byte> rgb, int w, int h, int tileW, int tileH, Span<float> destination)
    {
        ref float lut = ref MemoryMarshal.GetArrayDataReference(_lut);
        int tilesPerRow = w / tileW, tileArea = tileW * tileH;
        for (int y = 0; y < h; y++)
        {
            int tileRow = y / tileH, inTileY = y % tileH;
            for (int t = 0; t < tilesPerRow; t++)
            {
                ReadOnlySpan<byte> pixels = rgb.Slice(((y * w) + (t * tileW)) * 3, tileW * 3);
                int plane = ((tileRow * tilesPerRow) + t) * 3 * tileArea + (inTileY * tileW);
                Span<float> r = destination.Slice(plane, tileW);
                Span<float> g = destination.Slice(plane + tileArea, tileW);
                Span<float> b = destination.Slice(plane + (2 * tileArea), tileW);
                for (int x = 0; x < r.Length; x++)
                {
                    r[x] = Unsafe.Add(ref lut, pixels[3 * x]);
                    g[x] = Unsafe.Add(ref lut, 256 + pixels[(3 * x) + 1]);
                    b[x] = Unsafe.Add(ref lut, 512 + pixels[(3 * x) + 2]);
                }
            }
        }
    }

    // out = a*h0 + b*h1: PyTorch's order of operations for the vertical step (no fused multiply-add).
    private static void Blend(ReadOnlySpan<float> a, ReadOnlySpan<float> b, float h0, float h1, Span<float> output)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<float>.Count)
        {
            var v0 = new Vector<float>(h0);
            var v1 = new Vector<float>(h1);
            ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a);
            ReadOnlySpan<Vector<float>> vb = MemoryMarshal.Cast<float, Vector<float>>(b);
            Span<Vector<float>> vo = MemoryMarshal.Cast<float, Vector<float>>(output);
            for (int k = 0; k < va.Length; k++)
            {
                vo[k] = (va[k] * v0) + (vb[k] * v1);
            }

            i = va.Length * Vector<float>.Count;
        }

        for (; i < a.Length; i++)
        {
            output[i] = (a[i] * h0) + (b[i] * h1);
        }
    }

    /// <summary>Cached index/weight tables and two horizontally resampled source rows.</summary>
    /// <summary>PyTorch CPU upsample_bilinear2d index/weight rule (align_corners=False, size given), float32.</summary>
    internal static void ComputeAxis(int inSize, int outSize, int[] i0, int[] i1, float[] l0, float[] l1)
    {
        float scale = (float)inSize / outSize;
        for (int d = 0; d < outSize; d++)
        {
            // One rounding, as the reference: PyTorch's area_pixel_compute_source_index is compiled to a fused
            // multiply-add. Rounding the product first moves a weight by an ulp wherever scale * (d + 0.5) is not
            // exact in float32 (output sizes of 3 * 512, e.g. 1025 -> 1536).
            float src = MathF.FusedMultiplyAdd(scale, d + 0.5f, -0.5f);
            if (src < 0f)
            {
                src = 0f;
            }

            int i = Math.Min((int)src, inSize - 1);
            float lambda = Math.Min(Math.Max(src - i, 0f), 1f);
            i0[d] = i;
            i1[d] = i + (i < inSize - 1 ? 1 : 0);
            l0[d] = 1f - lambda;
            l1[d] = lambda;
        }
    }

    private sealed class Scratch
    {
        private int _inW = -1, _inH = -1, _outW = -1, _outH = -1;
        private int[] _x0 = [], _x1 = [];
        private float[] _wx0 = [], _wx1 = [];
        private float[] _rowA = [], _rowB = [];
        private int _tagA = -1, _tagB = -1;

        public int[] Y0 { get; private set; } = [];

        public int[] Y1 { get; private set; } = [];

        public float[] Wy0 { get; private set; } = [];

        public float[] Wy1 { get; private set; } = [];

        public void Prepare(int inW, int inH, int outW, int outH)
        {
            // Rows cached from an earlier image are stale even when the sizes match.
            _tagA = _tagB = -1;
            if (inW == _inW && inH == _inH && outW == _outW && outH == _outH)
            {
                return;
            }

            if (outW != _outW)
            {
                _x0 = new int[outW];
                _x1 = new int[outW];
                _wx0 = new float[outW];
                _wx1 = new float[outW];
                _rowA = new float[3 * outW];
                _rowB = new float[3 * outW];
            }

            if (outH != _outH)
            {
                Y0 = new int[outH];
                Y1 = new int[outH];
                Wy0 = new float[outH];
                Wy1 = new float[outH];
            }

            ComputeAxis(inW, outW, _x0, _x1, _wx0, _wx1);
            ComputeAxis(inH, outH, Y0, Y1, Wy0, Wy1);
            // Pre-multiply x indices by the pixel stride (3 bytes).
            for (int i = 0; i < outW; i++)
            {
                _x0[i] *= 3;
                _x1[i] *= 3;
            }

            (_inW, _inH, _outW, _outH) = (inW, inH, outW, outH);
        }

        /// <summary>
        /// Returns the horizontally resampled, normalised source row <paramref name="sy"/> (3 planes of outW), reusing
        /// a cached row when possible and never evicting <paramref name="keep"/>.
        /// </summary>
        public float[] Row(int sy, int keep, ReadOnlySpan<byte> rgb, float[] lut)
        {
            if (_tagA == sy)
            {
                return _rowA;
            }

            if (_tagB == sy)
            {
                return _rowB;
            }

            // Evict the slot that does not hold the row still needed by this output row.
            bool useA = _tagA != keep;
            float[] row = useA ? _rowA : _rowB;
            if (useA)
            {
                _tagA = sy;
            }
            else
            {
                _tagB = sy;
            }

            Horizontal(rgb.Slice(sy * _inW * 3, _inW * 3), lut, row);
            return row;
        }

        // t = lut(x[i0]) * w0 + lut(x[i1]) * w1 per channel: PyTorch's innermost (width) step.
        private void Horizontal(ReadOnlySpan<byte> src, float[] lut, float[] row)
        {
            int outW = _outW;
            ref float lr = ref MemoryMarshal.GetArrayDataReference(lut);
            ref float lg = ref Unsafe.Add(ref lr, 256);
            ref float lb = ref Unsafe.Add(ref lr, 512);
            Span<float> r = row.AsSpan(0, outW), g = row.AsSpan(outW, outW), b = row.AsSpan(2 * outW, outW);
            int[] x0 = _x0, x1 = _x1;
            float[] w0 = _wx0, w1 = _wx1;
            for (int x = 0; x < outW; x++)
            {
                int p0 = x0[x], p1 = x1[x];
                float a0 = w0[x], a1 = w1[x];
                r[x] = (Unsafe.Add(ref lr, src[p0]) * a0) + (Unsafe.Add(ref lr, src[p1]) * a1);
                g[x] = (Unsafe.Add(ref lg, src[p0 + 1]) * a0) + (Unsafe.Add(ref lg, src[p1 + 1]) * a1);
                b[x] = (Unsafe.Add(ref lb, src[p0 + 2]) * a0) + (Unsafe.Add(ref lb, src[p1 + 2]) * a1);
            }
        }
    }
}
