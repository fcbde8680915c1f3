using System.Globalization;

namespace Magma.Inference.Text;

/// <summary>
/// Hand-written equivalent of LLaMA-3's pre-tokenizer regex
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// </summary>
/// <remarks>
/// Hugging Face runs that regex (Oniguruma) on code points. .NET's Regex works on UTF-16 units, so an astral letter
/// (e.g. U+1D400) would not be <c>\p{L}</c> and "a𝐀b" would split differently; a scan over code points avoids that and
/// is also several times faster than the regex. The alternatives are tried in the regex's order at each position.
/// </remarks>
internal static class Llama3PreTokenizer
{
    private const byte Other = 0;
    private const byte Letter = 1;
    private const byte Number = 2;
    private const byte Space = 3;   // \s other than \r and \n
    private const byte Newline = 4; // \r or \n

    private static readonly byte[] AsciiClass = BuildAsciiClass();

    private static byte[] BuildAsciiClass()
    {
        var table = new byte[128];
        for (int c = 0; c < 128; c++)
        {
            table[c] = ClassifyCodePoint(c);
        }

        return table;
    }

    private static byte ClassifyCodePoint(int cp)
    {
        if (cp is '\r' or '\n')
        {
            return Newline;
        }

        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return Number;
            default:
                // Unicode White_Space (what Oniguruma's \s means) has no astral members and equals char.IsWhiteSpace.
                return cp <= 0xFFFF && char.IsWhiteSpace((char)cp) ? Space : Other;
        }
    }

    private static byte Classify(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (c < 128)
        {
            width = 1;
            return AsciiClass[c];
        }

        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            width = 2;
            return ClassifyCodePoint(char.ConvertToUtf32(c, s[i + 1]));
        }

        width = 1;
        return ClassifyCodePoint(c); // a lone surrogate is category Cs: "other", as its U+FFFD replacement would be
    }

    /// <summary>Length in chars of the pre-token that starts at the beginning of <paramref name="s"/> (non-empty).</summary>
    public static int NextPieceLength(ReadOnlySpan<char> s)
    {
        byte k0 = Classify(s, 0, out int w0);

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if (s[0] == '\'' && s.Length > 1)
        {
            int m = ContractionLength(s[1..]);
            if (m > 0)
            {
                return 1 + m;
            }
        }

        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (k0 == Letter)
        {
            return LetterRunEnd(s, w0);
        }

        if (k0 != Number && k0 != Newline && w0 < s.Length && Classify(s, w0, out _) == Letter)
        {
            return LetterRunEnd(s, w0);
        }

        // \p{N}{1,3}
        if (k0 == Number)
        {
            int n = w0;
            for (int count = 1; count < 3 && n < s.Length && Classify(s, n, out int w) == Number; count++)
            {
                n += w;
            }

            return n;
        }

        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        if (k0 == Other || (s[0] == ' ' && s.Length > 1 && Classify(s, 1, out _) == Other))
        {
            int n = k0 == Other ? 0 : 1;
            while (n < s.Length && Classify(s, n, out int w) == Other)
            {
                n += w;
            }

            while (n < s.Length && s[n] is '\r' or '\n')
            {
                n++;
            }

            return n;
        }

        // Whitespace run (all whitespace is in the BMP, one char each).
        int end = 0;
        int lastNewline = -1;
        while (end < s.Length)
        {
            char c = s[end];
            if (c is '\r' or '\n')
            {
                lastNewline = end;
            }
            else if (!char.IsWhiteSpace(c))
            {
                break;
            }

            end++;
        }

        // \s*[\r\n]+ : backtracking \s* stops right before the run's last newline.
        if (lastNewline >= 0)
        {
            return lastNewline + 1;
        }

        // \s+(?!\S) : leave the last whitespace char for the following word; \s+ when the run is a single char.
        return end == s.Length || end == 1 ? end : end - 1;
    }

    private static int LetterRunEnd(ReadOnlySpan<char> s, int n)
    {
        while (n < s.Length && Classify(s, n, out int w) == Letter)
        {
            n += w;
        }

        return n;
    }

    // Case-insensitive as Oniguruma's (?i): simple case folding also maps U+017F (long s) to 's'.
    private static int ContractionLength(ReadOnlySpan<char> s)
    {
        char a = s[0];
        char b = s.Length > 1 ? s[1] : '\0';
        switch (a)
        {
            case 's' or 'S' or '\u017F':
            case 't' or 'T':
            case 'm' or 'M':
            case 'd' or 'D':
                return 1;
            case 'r' or 'R' or 'v' or 'V':
                return b is 'e' or 'E' ? 2 : 0;
            case 'l' or 'L':
                return b is 'l' or 'L' ? 2 : 0;
            default:
                return 0;
        }
    }
}
