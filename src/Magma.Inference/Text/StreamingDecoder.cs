using System.Buffers;
using System.Text;

namespace Magma.Inference.Text;

/// <summary>
/// Incremental detokenizer for generation. Byte-level BPE tokens can end in the middle of a multi-byte UTF-8 character
/// (emoji, CJK); those bytes are held back until the character is complete, so a delta never contains half a
/// character. The concatenation of all deltas and <see cref="Flush()"/> equals
/// <see cref="MagmaTokenizer.Decode"/> of all ids with the same <c>skipSpecialTokens</c>. Not thread-safe.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly MagmaTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private byte[] _pending;
    private int _count;

    internal StreamingDecoder(MagmaTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        _pending = new byte[MaxCharsPerAppend];
    }

    /// <summary>A destination of this many chars is always large enough for <see cref="Append(int, Span{char})"/>.</summary>
    public int MaxCharsPerAppend => _tokenizer.MaxTokenByteLength + 4;

    /// <summary>Adds one id and returns the text completed by it (often empty; never a partial character).</summary>
    public string Append(int id)
    {
        int end = Push(id);
        if (end == 0)
        {
            return string.Empty;
        }

        string text = Encoding.UTF8.GetString(_pending, 0, end);
        Consume(end);
        return text;
    }

    /// <summary>
    /// Allocation-free form of <see cref="Append(int)"/>: writes the completed text to <paramref name="destination"/>
    /// (at least <see cref="MaxCharsPerAppend"/> chars) and returns the number of chars written.
    /// </summary>
    public int Append(int id, Span<char> destination)
    {
        if (destination.Length < MaxCharsPerAppend)
        {
            throw new ArgumentException($"The destination must hold at least {MaxCharsPerAppend} chars (MaxCharsPerAppend).", nameof(destination));
        }

        int end = Push(id);
        if (end == 0)
        {
            return 0;
        }

        int written = Encoding.UTF8.GetChars(_pending.AsSpan(0, end), destination);
        Consume(end);
        return written;
    }

    /// <summary>Returns the bytes still held back, decoded with U+FFFD for an incomplete character, and clears them.</summary>
    public string Flush()
    {
        string text = _count == 0 ? string.Empty : Encoding.UTF8.GetString(_pending, 0, _count);
        _count = 0;
        return text;
    }

    /// <summary>Drops any held-back bytes so the decoder can start a new sequence.</summary>
    public void Reset() => _count = 0;

    // Appends the token's bytes; returns how many leading pending bytes form complete text.
    private int Push(int id)
    {
        if (!_tokenizer.Keep(id, _skipSpecialTokens))
        {
            return 0; // same ids Decode leaves out; nothing new to emit
        }

        int needed = _count + _tokenizer.MaxTokenByteLength;
        if (needed > _pending.Length)
        {
            Array.Resize(ref _pending, needed);
        }

        _count += _tokenizer.CopyTokenBytes(id, _pending.AsSpan(_count));
        return CompleteLength(_pending.AsSpan(0, _count));
    }

    /// <summary>
    /// Length of the prefix that cannot change when more bytes arrive: everything but a trailing, so far valid, but
    /// incomplete UTF-8 sequence. Lead bytes always start a new decoding unit, so the split cannot alter how the
    /// prefix decodes (also for invalid bytes, which become U+FFFD the same way as in a one-shot decode).
    /// </summary>
    internal static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        for (int start = bytes.Length - 1; start >= 0 && start >= bytes.Length - 4; start--)
        {
            if ((bytes[start] & 0xC0) != 0x80)
            {
                var status = System.Text.Rune.DecodeFromUtf8(bytes[start..], out _, out _);
                return status == OperationStatus.NeedMoreData ? start : bytes.Length;
            }
        }

        return bytes.Length;
    }

    private void Consume(int end)
    {
        _pending.AsSpan(end, _count - end).CopyTo(_pending);
        _count -= end;
    }
}
