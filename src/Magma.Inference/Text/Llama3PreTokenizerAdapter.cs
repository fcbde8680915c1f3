using System.Collections;
using Microsoft.ML.Tokenizers;

namespace Magma.Inference.Text;

/// <summary>
/// Plugs <see cref="Llama3PreTokenizer"/> into Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/>. The text it
/// sees never contains added tokens: <see cref="MagmaTokenizer"/> cuts those out first and passes each segment between
/// them on its own.
/// </summary>
/// <remarks>
/// <see cref="PreTokenizer.PreTokenize(ReadOnlySpan{char})"/> must return an <see cref="IEnumerable{T}"/>, and an
/// iterator cannot capture a span, so the span overload fills a per-thread buffer that is its own enumerator instead of
/// allocating a list of pieces on every call. <see cref="TiktokenTokenizer"/> enumerates the result once, right away and
/// on the calling thread, which is the only use this type has.
/// </remarks>
internal sealed class Llama3PreTokenizerAdapter : PreTokenizer
{
    [ThreadStatic]
    private static PieceBuffer? t_pieces;

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Split(text);
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var pieces = t_pieces ??= new PieceBuffer();
        pieces.Fill(text);
        return pieces;
    }

    private static IEnumerable<(int Offset, int Length)> Split(string text)
    {
        int offset = 0;
        while (offset < text.Length)
        {
            int length = Llama3PreTokenizer.NextPieceLength(text.AsSpan(offset));
            yield return (offset, length);
            offset += length;
        }
    }

    private sealed class PieceBuffer : IEnumerable<(int Offset, int Length)>, IEnumerator<(int Offset, int Length)>
    {
        private (int Offset, int Length)[] _items = new (int, int)[256];
        private int _count;
        private int _index = -1;

        public (int Offset, int Length) Current => _items[_index];

        object IEnumerator.Current => Current;

        public void Fill(ReadOnlySpan<char> text)
        {
            _count = 0;
            _index = -1;
            int offset = 0;
            while (offset < text.Length)
            {
                int length = Llama3PreTokenizer.NextPieceLength(text[offset..]);
                if (_count == _items.Length)
                {
                    Array.Resize(ref _items, _items.Length * 2);
                }

                _items[_count++] = (offset, length);
                offset += length;
            }
        }

        public IEnumerator<(int Offset, int Length)> GetEnumerator()
        {
            _index = -1;
            return this;
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public bool MoveNext() => ++_index < _count;

        public void Reset() => _index = -1;

        public void Dispose()
        {
        }
    }
}
