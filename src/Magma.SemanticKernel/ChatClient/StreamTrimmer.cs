using System.Text;

namespace Magma.SemanticKernel;

/// <summary>
/// Trims a token stream as the non-streaming answer is trimmed (<c>string.Trim</c>): leading whitespace is dropped,
/// trailing whitespace is held back until more text follows, so the deltas concatenate to exactly the same text.
/// </summary>
internal sealed class StreamTrimmer
{
    private readonly StringBuilder _held = new();
    private bool _started;

    public string Push(string delta, bool final)
    {
        if (!_started)
        {
            delta = delta.TrimStart();
            if (delta.Length == 0)
            {
                return string.Empty;
            }

            _started = true;
        }

        if (final)
        {
            string rest = string.Concat(_held.ToString(), delta).TrimEnd();
            _held.Clear();
            return rest;
        }

        int end = delta.Length;
        while (end > 0 && char.IsWhiteSpace(delta[end - 1]))
        {
            end--;
        }

        if (end == 0)
        {
            _held.Append(delta);
            return string.Empty;
        }

        string emit = string.Concat(_held.ToString(), delta.AsSpan(0, end));
        _held.Clear().Append(delta, end, delta.Length - end);
        return emit;
    }
}
