using System.Buffers;

namespace Magma.Inference.Text;

/// <summary>
/// Finds added tokens in raw text before pre-tokenization, with the leftmost-longest rule of HF's Aho-Corasick
/// matcher (all Magma/LLaMA-3 added tokens are <c>normalized: false</c> with no strip or single-word options).
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly SearchValues<char> _firstChars;
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;

    public AddedTokenMatcher(IEnumerable<(string Content, int Id)> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    /// <summary>Finds the first added token in <paramref name="text"/>; false when there is none.</summary>
    public bool TryFind(ReadOnlySpan<char> text, out int index, out int length, out int id)
    {
        int offset = 0;
        while (true)
        {
            int i = text[offset..].IndexOfAny(_firstChars);
            if (i < 0)
            {
                break;
            }

            i += offset;
            var rest = text[i..];
            foreach (var (content, tokenId) in _byFirstChar[text[i]])
            {
                if (rest.StartsWith(content, StringComparison.Ordinal))
                {
                    index = i;
                    length = content.Length;
                    id = tokenId;
                    return true;
                }
            }

            offset = i + 1;
        }

        index = length = id = -1;
        return false;
    }
}
