namespace Magma.Inference.Generation;

/// <summary>Restricts every generated token to a fixed set of ids (all others get negative infinity).</summary>
public sealed class AllowedTokensProcessor : ILogitsProcessor, ITokenSetConstraint
{
    private readonly int[] _allowed;

    /// <summary>Creates the processor for the given ids; at least one id is required.</summary>
    public AllowedTokensProcessor(IEnumerable<int> allowedIds)
    {
        ArgumentNullException.ThrowIfNull(allowedIds);
        _allowed = allowedIds.Distinct().Order().ToArray();
        if (_allowed.Length == 0 || _allowed[0] < 0)
        {
            throw new ArgumentException("Allowed token ids must be non-empty and non-negative.", nameof(allowedIds));
        }
    }

    /// <inheritdoc />
    int[] ITokenSetConstraint.AllowedAt(int generatedCount) => _allowed;

    /// <inheritdoc />
    public void Process(ReadOnlySpan<int> generated, Span<float> logits) => KeepOnly(logits, _allowed);

    /// <summary>Sets every logit outside <paramref name="sortedAllowed"/> to negative infinity; ids past the vocabulary are ignored.</summary>
    internal static void KeepOnly(Span<float> logits, ReadOnlySpan<int> sortedAllowed)
    {
        int next = 0;
        for (int id = 0; id < logits.Length; id++)
        {
            if (next < sortedAllowed.Length && sortedAllowed[next] == id)
            {
                next++;
            }
            else
            {
                logits[id] = float.NegativeInfinity;
            }
        }
    }
}
