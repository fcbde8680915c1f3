namespace Magma.Inference.Generation;

/// <summary>
/// Forces a well-formed robot action: the first <see cref="ActionLength"/> tokens must be action tokens (the last
/// 256 ids of the base vocabulary, spec §5.1/§6.4), then only the stop token may follow. With this constraint any
/// sampling settings yield exactly seven decodable action tokens and EOS.
/// </summary>
public sealed class ActionTokenConstraint : ILogitsProcessor, ITokenSetConstraint
{
    /// <summary>Action tokens per step (7-DoF).</summary>
    public const int ActionLength = 7;

    /// <summary>Number of discrete action bins (the last 256 base-vocabulary ids).</summary>
    public const int BinCount = 256;

    private readonly int _first;
    private readonly int _stopId;
    private readonly int[] _actionIds;
    private readonly int[] _stopOnly;

    /// <summary>Creates the constraint.</summary>
    /// <param name="baseVocabSize">The tokenizer's base vocabulary size (128000 for Magma-8B; manifest <c>tokens.base_vocab_size</c>).</param>
    /// <param name="stopTokenId">The id allowed after the action (128009, <c>&lt;|eot_id|&gt;</c>).</param>
    public ActionTokenConstraint(int baseVocabSize, int stopTokenId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baseVocabSize, BinCount);
        ArgumentOutOfRangeException.ThrowIfNegative(stopTokenId);
        _first = baseVocabSize - BinCount;
        _stopId = stopTokenId;
        _actionIds = Enumerable.Range(_first, BinCount).ToArray();
        _stopOnly = [stopTokenId];
    }

    /// <inheritdoc />
    int[] ITokenSetConstraint.AllowedAt(int generatedCount) => generatedCount < ActionLength ? _actionIds : _stopOnly;

    /// <summary>First action token id (baseVocabSize - 256).</summary>
    public int FirstActionId => _first;

    /// <inheritdoc />
    public void Process(ReadOnlySpan<int> generated, Span<float> logits)
    {
        if (generated.Length < ActionLength)
        {
            logits[.._first].Fill(float.NegativeInfinity);
            logits[(_first + BinCount)..].Fill(float.NegativeInfinity);
        }
        else
        {
            float keep = logits[_stopId];
            logits.Fill(float.NegativeInfinity);
            // Any finite value works: it is the only candidate left.
            logits[_stopId] = float.IsFinite(keep) ? keep : 0f;
        }
    }
}
