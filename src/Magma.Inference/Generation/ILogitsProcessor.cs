namespace Magma.Inference.Generation;

/// <summary>
/// Edits next-token logits before sampling, for example to forbid tokens by setting them to negative infinity.
/// Called once per generated token with the ids generated so far (prompt excluded). Implementations must not
/// allocate per call; the engine calls them on the decode hot path.
/// </summary>
public interface ILogitsProcessor
{
    /// <summary>Adjusts <paramref name="logits"/> (one float per vocabulary id) in place.</summary>
    /// <param name="generated">The ids generated so far in this request.</param>
    /// <param name="logits">Next-token logits, writable.</param>
    void Process(ReadOnlySpan<int> generated, Span<float> logits);
}
