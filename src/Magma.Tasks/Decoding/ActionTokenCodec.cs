using Magma.Inference;

namespace Magma.Tasks.Decoding;

/// <summary>
/// Maps Magma's robot-action token ids to normalised action values and back (OpenVLA-style binning,
/// spec §6.4). Action tokens are the last <c>binCount</c> ids of the base vocabulary.
/// </summary>
/// <remarks>
/// Values are computed in double precision because the reference decoders (NumPy) never leave float64;
/// rounding to float32 earlier would move bin centres by up to 3e-8 and break bit-exact comparisons.
/// </remarks>
public sealed class ActionTokenCodec
{
    private readonly double[] _bins;
    private readonly double[] _binCenters;

    /// <summary>Creates a codec for the given base vocabulary size and number of bins.</summary>
    /// <param name="baseVocabularySize">
    /// The tokenizer's base vocabulary size (<c>tokenizer.vocab_size</c>, 128000 for Magma-8B) — not the
    /// embedding size and not the count including added tokens (spec §9 item 9).
    /// </param>
    /// <param name="binCount">Number of evenly spaced bin edges on [-1, 1] (256 for Magma).</param>
    public ActionTokenCodec(int baseVocabularySize = 128000, int binCount = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(binCount, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(baseVocabularySize, binCount);

        BaseVocabularySize = baseVocabularySize;
        BinCount = binCount;

        // Same arithmetic as numpy.linspace(-1, 1, n): i * step + start, last edge pinned to stop.
        _bins = new double[binCount];
        double step = 2.0 / (binCount - 1);
        for (int i = 0; i < binCount; i++)
        {
            _bins[i] = (i * step) + -1.0;
        }

        _bins[binCount - 1] = 1.0;

        _binCenters = new double[binCount - 1];
        for (int i = 0; i < _binCenters.Length; i++)
        {
            _binCenters[i] = (_bins[i] + _bins[i + 1]) / 2.0;
        }
    }

    /// <summary>The base vocabulary size V; action ids are V - binCount … V - 1.</summary>
    public int BaseVocabularySize { get; }

    /// <summary>The number of bin edges (256 for Magma).</summary>
    public int BinCount { get; }

    /// <summary>The smallest action token id (V - binCount, 127744 for Magma-8B); it decodes to the largest value.</summary>
    public int FirstActionId => BaseVocabularySize - BinCount;

    /// <summary>The largest action token id (V - 1, 127999 for Magma-8B); it decodes to the smallest value.</summary>
    public int LastActionId => BaseVocabularySize - 1;

    /// <summary>True when <paramref name="id"/> is one of the action token ids.</summary>
    public bool IsActionToken(int id) => id >= FirstActionId && id <= LastActionId;

    /// <summary>
    /// Converts a token id to its normalised action value in (-1, 1): d = V - id, idx = clamp(d - 1, 0, binCount - 2),
    /// value = bin centre idx. Ids outside the action range are clamped exactly as the reference does; check
    /// <see cref="IsActionToken"/> first if that matters.
    /// </summary>
    public double ToNormalized(int id)
    {
        long d = (long)BaseVocabularySize - id;
        long idx = Math.Clamp(d - 1, 0, _binCenters.Length - 1);
        return _binCenters[idx];
    }

    /// <summary>
    /// Encodes a normalised value the way OpenVLA's action tokenizer does: clip to [-1, 1], find the bucket
    /// (1 … binCount) with <c>numpy.digitize</c> semantics against the bin edges, id = V - bucket.
    /// </summary>
    /// <exception cref="MagmaInputException">The value is NaN (the reference would silently produce a meaningless id).</exception>
    public int FromNormalized(double value)
    {
        if (double.IsNaN(value))
        {
            throw new MagmaInputException("FromNormalized(value): the action value is NaN; pass a finite number in [-1, 1].");
        }

        double clipped = Math.Clamp(value, -1.0, 1.0);

        // digitize(x, bins) for increasing bins = number of edges <= x.
        int lo = 0, hi = _bins.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_bins[mid] <= clipped)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return BaseVocabularySize - lo;
    }
}
