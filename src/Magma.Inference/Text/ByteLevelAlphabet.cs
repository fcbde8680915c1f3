namespace Magma.Inference.Text;

/// <summary>
/// GPT-2 style byte-to-character table used by byte-level BPE vocabularies (LLaMA-3's tokenizer.json stores every
/// token as the characters of this alphabet, e.g. a space is 'Ġ').
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>Character that stands for each byte value.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Byte value of each alphabet character, or -1; indexed by char (the alphabet stays below U+0144).</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var assigned = new bool[256];
        for (int b = '!'; b <= '~'; b++) { map[b] = (char)b; assigned[b] = true; }
        for (int b = 0xA1; b <= 0xAC; b++) { map[b] = (char)b; assigned[b] = true; }
        for (int b = 0xAE; b <= 0xFF; b++) { map[b] = (char)b; assigned[b] = true; }
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            if (!assigned[b])
            {
                map[b] = (char)(256 + n);
                n++;
            }
        }

        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[0x144];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++)
        {
            map[ByteToChar[b]] = (short)b;
        }

        return map;
    }

    /// <summary>
    /// Appends the bytes a token's text stands for, as Hugging Face's ByteLevel decoder does: the alphabet mapping when
    /// every character belongs to the alphabet, otherwise the token's raw UTF-8 (e.g. added tokens containing a space).
    /// </summary>
    public static byte[] TokenTextToBytes(string token)
    {
        var bytes = new byte[token.Length];
        for (int i = 0; i < token.Length; i++)
        {
            char c = token[i];
            int b = c < CharToByte.Length ? CharToByte[c] : -1;
            if (b < 0)
            {
                return System.Text.Encoding.UTF8.GetBytes(token);
            }

            bytes[i] = (byte)b;
        }

        return bytes;
    }
}
