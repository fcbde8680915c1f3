using System.Globalization;

namespace Magma.Tasks.Decoding;

/// <summary>
/// Hand-written scanning primitives for model answers. Every routine is a single forward pass with no
/// backtracking, accepts only ASCII digits (so lookalike Unicode digits never parse as numbers) and bounds
/// the length of each number, so hostile or runaway output costs linear time and cannot throw.
/// </summary>
internal static class TextScan
{
    /// <summary>Longest number token accepted; a real answer never needs more.</summary>
    internal const int MaxNumberLength = 24;

    internal static bool IsAsciiDigit(char c) => c is >= '0' and <= '9';

    internal static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i;
    }

    internal static bool StartsWith(string s, int i, string token) =>
        i + token.Length <= s.Length && string.CompareOrdinal(s, i, token, 0, token.Length) == 0;

    /// <summary>
    /// Reads a number with the UI demo's shape <c>-?\d+\.?\d*</c> at <paramref name="i"/>. Returns false (and leaves
    /// <paramref name="end"/> at <paramref name="i"/>) when there is none; sets <paramref name="tooLong"/> when the
    /// digits run past <see cref="MaxNumberLength"/> (the digits are still consumed).
    /// </summary>
    internal static bool TryReadDecimal(string s, int i, out double value, out int end, out bool tooLong)
    {
        value = 0;
        end = i;
        tooLong = false;
        int p = i;
        if (p < s.Length && s[p] == '-')
        {
            p++;
        }

        int digitsStart = p;
        while (p < s.Length && IsAsciiDigit(s[p]))
        {
            p++;
        }

        if (p == digitsStart)
        {
            return false;
        }

        if (p < s.Length && s[p] == '.')
        {
            p++;
            while (p < s.Length && IsAsciiDigit(s[p]))
            {
                p++;
            }
        }

        end = p;
        if (p - i > MaxNumberLength)
        {
            tooLong = true;
            return true;
        }

        // A trailing '.' ("12.") is accepted by the pattern and by double parsing alike.
        if (!double.TryParse(s.AsSpan(i, p - i), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value))
        {
            tooLong = true;
        }

        return true;
    }

    /// <summary>Reads unsigned ASCII digits as an int; <paramref name="overflow"/> is set when they do not fit.</summary>
    internal static bool TryReadNonNegativeInt(string s, int i, out int value, out int end, out bool overflow)
    {
        value = 0;
        overflow = false;
        int p = i;
        long acc = 0;
        while (p < s.Length && IsAsciiDigit(s[p]))
        {
            if (!overflow)
            {
                acc = (acc * 10) + (s[p] - '0');
                if (acc > int.MaxValue)
                {
                    overflow = true;
                }
            }

            p++;
        }

        end = p;
        if (p == i)
        {
            return false;
        }

        value = overflow ? 0 : (int)acc;
        return true;
    }

    /// <summary>Reads an optionally signed int; overflow is reported rather than wrapped.</summary>
    internal static bool TryReadInt(string s, int i, out int value, out int end, out bool overflow)
    {
        bool negative = i < s.Length && s[i] == '-';
        bool ok = TryReadNonNegativeInt(s, negative ? i + 1 : i, out value, out end, out overflow);
        if (!ok)
        {
            end = i;
            return false;
        }

        if (negative)
        {
            value = -value;
        }

        return true;
    }

    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
