using System.Buffers;
using System.Text;

namespace Magma.Inference.Text;

/// <summary>
/// Byte-level BPE with Hugging Face <c>tokenizers</c> semantics for <c>ignore_merges: true</c>: a pre-token found whole
/// in the vocabulary is one token; otherwise its bytes are merged by merge-list rank, lowest rank first and leftmost
/// on ties, replaying <c>Word::merge_all</c> (including its "same resulting id" staleness test) so results are
/// identical to HF by construction. (tiktoken's rule, lowest rank of the merged token, orders the same merges
/// except when two different splits of one token compete; HF's merge order was not assumed equal there.)
/// </summary>
internal sealed class ByteLevelBpe
{
    private const int StackLimit = 256;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    private readonly Dictionary<long, int> _mergeRank;
    private readonly int[] _mergeNewId;
    private readonly int[] _byteId = new int[256];

    public ByteLevelBpe(Dictionary<string, int> vocab, IReadOnlyList<(int Left, int Right)> merges)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _mergeRank = new Dictionary<long, int>(merges.Count);
        _mergeNewId = new int[merges.Count];
        for (int b = 0; b < 256; b++)
        {
            _byteId[b] = vocab.TryGetValue(ByteLevelAlphabet.ByteToChar[b].ToString(), out int id) ? id : -1;
        }

        string[] byId = new string[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (token, id) in vocab)
        {
            byId[id] = token;
        }

        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            // HF keeps the first occurrence of a duplicated pair.
            _mergeRank.TryAdd(Key(left, right), rank);
            _mergeNewId[rank] = vocab.TryGetValue(byId[left] + byId[right], out int merged) ? merged : -1;
        }

    }

    /// <summary>Number of vocabulary entries (the BPE model's own vocabulary, without added tokens).</summary>
    public int Count => _vocab.Count;

    /// <summary>True when every byte has its own token, which byte-level BPE needs to encode any text.</summary>
    public bool CoversAllBytes => Array.IndexOf(_byteId, -1) < 0;

    /// <summary>Looks a token up in its tokenizer.json form.</summary>
    public bool TryGetId(string token, out int id) => _vocab.TryGetValue(token, out id);

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-token.</summary>
    public void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        Span<byte> bytes = maxBytes <= StackLimit * 2 ? stackalloc byte[StackLimit * 2] : (rentedBytes = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int n = Encoding.UTF8.GetBytes(piece, bytes);
            Span<char> mapped = n <= StackLimit * 2 ? stackalloc char[StackLimit * 2] : (rentedChars = ArrayPool<char>.Shared.Rent(n));
            for (int i = 0; i < n; i++)
            {
                mapped[i] = ByteLevelAlphabet.ByteToChar[bytes[i]];
            }

            if (_vocabBySpan.TryGetValue(mapped[..n], out int id))
            {
                output.Add(id);
                return;
            }

            Merge(bytes[..n], output);
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }

            if (rentedChars is not null)
            {
                ArrayPool<char>.Shared.Return(rentedChars);
            }
        }
    }

    private void Merge(ReadOnlySpan<byte> bytes, List<int> output)
    {
        int n = bytes.Length;
        int heapCapacity = 3 * n + 4;
        int[]? rentedInts = null;
        long[]? rentedHeap = null;
        Span<int> ints = 3 * n <= StackLimit * 3 ? stackalloc int[StackLimit * 3] : (rentedInts = ArrayPool<int>.Shared.Rent(3 * n));
        Span<long> heap = heapCapacity <= StackLimit * 3 + 4 ? stackalloc long[StackLimit * 3 + 4] : (rentedHeap = ArrayPool<long>.Shared.Rent(heapCapacity));
        try
        {
            Span<int> ids = ints[..n];
            Span<int> prev = ints.Slice(n, n);
            Span<int> next = ints.Slice(2 * n, n);
            for (int i = 0; i < n; i++)
            {
                ids[i] = _byteId[bytes[i]];
                prev[i] = i - 1;
                next[i] = i + 1 < n ? i + 1 : -1;
            }

            int count = 0;
            for (int i = 0; i + 1 < n; i++)
            {
                if (_mergeRank.TryGetValue(Key(ids[i], ids[i + 1]), out int rank))
                {
                    HeapPush(heap, ref count, ((long)rank << 32) | (uint)i);
                }
            }

            while (count > 0)
            {
                long top = HeapPop(heap, ref count);
                int rank = (int)(top >> 32);
                int pos = (int)(uint)top;
                if (ids[pos] < 0 || next[pos] < 0)
                {
                    continue; // merged away, or now the last symbol
                }

                int right = next[pos];
                int newId = _mergeNewId[rank];
                if (!_mergeRank.TryGetValue(Key(ids[pos], ids[right]), out int currentRank) || _mergeNewId[currentRank] != newId)
                {
                    continue; // stale entry
                }

                ids[pos] = newId;
                ids[right] = -1;
                next[pos] = next[right];
                if (next[right] >= 0)
                {
                    prev[next[right]] = pos;
                }

                if (prev[pos] >= 0 && _mergeRank.TryGetValue(Key(ids[prev[pos]], newId), out int leftRank))
                {
                    HeapPush(heap, ref count, ((long)leftRank << 32) | (uint)prev[pos]);
                }

                if (next[pos] >= 0 && _mergeRank.TryGetValue(Key(newId, ids[next[pos]]), out int rightRank))
                {
                    HeapPush(heap, ref count, ((long)rightRank << 32) | (uint)pos);
                }
            }

            for (int i = 0; i >= 0; i = next[i])
            {
                output.Add(ids[i]);
            }
        }
        finally
        {
            if (rentedInts is not null)
            {
                ArrayPool<int>.Shared.Return(rentedInts);
            }

            if (rentedHeap is not null)
            {
                ArrayPool<long>.Shared.Return(rentedHeap);
            }
        }
    }

    // Min-heap on (rank, position), the order of HF's Merge entries.
    private static void HeapPush(Span<long> heap, ref int count, long value)
    {
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (heap[parent] <= value)
            {
                break;
            }

            heap[i] = heap[parent];
            i = parent;
        }

        heap[i] = value;
    }

    private static long HeapPop(Span<long> heap, ref int count)
    {
        long result = heap[0];
        long last = heap[--count];
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && heap[child + 1] < heap[child])
            {
                child++;
            }

            if (last <= heap[child])
            {
                break;
            }

            heap[i] = heap[child];
            i = child;
        }

        if (count > 0)
        {
            heap[i] = last;
        }

        return result;
    }
}
