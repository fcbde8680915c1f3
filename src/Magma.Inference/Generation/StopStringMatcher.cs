namespace Magma.Inference.Generation;

/// <summary>
/// Finds stop strings in streamed text and decides how much text is safe to emit: text that could still become
/// the start of a stop string is held back until the next token settles it, so a stop string is never emitted.
/// </summary>
internal sealed class StopStringMatcher
{
    private readonly string[] _stops;

    public StopStringMatcher(IReadOnlyList<string> stops) => _stops = [.. stops];

    public bool IsEmpty => _stops.Length == 0;

    /// <summary>
    /// Index in <paramref name="text"/> where the earliest stop string starts (searching only from
    /// <paramref name="searchFrom"/>), or -1.
    /// </summary>
    public int FindStop(string text, int searchFrom)
    {
        int best = -1;
        foreach (string stop in _stops)
        {
            int from = Math.Max(0, searchFrom - stop.Length + 1);
            int i = text.IndexOf(stop, from, StringComparison.Ordinal);
            if (i >= 0 && (best < 0 || i < best))
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Length of the prefix of <paramref name="text"/> that cannot be part of a stop string yet to come.</summary>
    public int SafeLength(string text)
    {
        int hold = 0;
        foreach (string stop in _stops)
        {
            int max = Math.Min(stop.Length - 1, text.Length);
            for (int n = max; n > hold; n--)
            {
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    hold = n;
                    break;
                }
            }
        }

        return text.Length - hold;
    }
}
