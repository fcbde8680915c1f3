using System.Numerics.Tensors;

namespace Magma.Inference.Generation;

/// <summary>
/// Picks the next token from processed logits. Greedy takes the first maximum (torch.argmax). Sampling follows
/// Hugging Face's order: temperature, top-k (ties with the k-th value kept), top-p (drop the low tail whose
/// cumulative probability is at most 1 - p, always keep the best), softmax, multinomial draw from a seeded PCG32.
/// All scratch space is allocated once per request.
/// </summary>
internal sealed class TokenSampler
{
    private readonly bool _sample;
    private readonly float _temperature;
    private readonly int _topK;
    private readonly float _topP;
    private readonly float[] _keys;
    private readonly int[] _items;
    private readonly float[] _heap;
    private Pcg32 _rng;

    public TokenSampler(int vocabSize, GenerationOptions options, ulong seed)
    {
        _sample = options.DoSample;
        _temperature = options.Temperature;
        _topK = options.TopK ?? GenerationOptions.DefaultSamplingTopK;
        _topP = options.TopP;
        _rng = new Pcg32(seed);
        if (_sample)
        {
            _keys = new float[vocabSize];
            _items = new int[vocabSize];
            _heap = new float[Math.Max(1, Math.Min(_topK, vocabSize))];
        }
        else
        {
            _keys = [];
            _items = [];
            _heap = [];
        }
    }

    /// <summary>Chooses a token; <paramref name="logits"/> may be modified (temperature is applied in place).</summary>
    public int Next(Span<float> logits)
    {
        if (!_sample)
        {
            return Argmax(logits);
        }

        if (_temperature != 1f)
        {
            TensorPrimitives.Divide(logits, _temperature, logits);
        }

        int count = Candidates(logits);
        if (count == 0)
        {
            // Every token was forbidden; fall back to the argmax so generation still ends deterministically.
            return Argmax(logits);
        }

        Span<float> keys = _keys.AsSpan(0, count);
        Span<int> items = _items.AsSpan(0, count);
        // keys hold negated logits, so an ascending sort puts the most likely token first.
        keys.Sort(items);

        float max = -keys[0];
        double total = 0;
        for (int i = 0; i < count; i++)
        {
            double p = Math.Exp(-keys[i] - max);
            keys[i] = (float)p;
            total += p;
        }

        if (_topP < 1f)
        {
            // HF: sort ascending, remove tokens whose cumulative probability is <= 1 - top_p, keep at least one.
            double cumulative = 0;
            double limit = (1.0 - _topP) * total;
            int keep = count;
            for (int i = count - 1; i > 0; i--)
            {
                cumulative += keys[i];
                if (cumulative > limit)
                {
                    break;
                }

                keep = i;
            }

            count = keep;
            total = 0;
            for (int i = 0; i < count; i++)
            {
                total += keys[i];
            }
        }

        double u = _rng.NextDouble() * total;
        double acc = 0;
        for (int i = 0; i < count; i++)
        {
            acc += keys[i];
            if (u < acc)
            {
                return items[i];
            }
        }

        return items[count - 1];
    }

    private static int Argmax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        float bestValue = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] > bestValue)
            {
                bestValue = logits[i];
                best = i;
            }
        }

        return best;
    }

    /// <summary>Writes the surviving (id, -logit) pairs after top-k into the scratch arrays; returns their count.</summary>
    private int Candidates(ReadOnlySpan<float> logits)
    {
        float threshold = float.NegativeInfinity;
        if (_topK > 0 && _topK < logits.Length)
        {
            threshold = KthLargest(logits, _topK);
        }

        int n = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            float v = logits[i];
            if (v > float.NegativeInfinity && v >= threshold)
            {
                _keys[n] = -v;
                _items[n] = i;
                n++;
            }
        }

        return n;
    }

    /// <summary>The k-th largest finite value (min-heap of size k), or -inf when fewer than k are finite.</summary>
    private float KthLargest(ReadOnlySpan<float> values, int k)
    {
        Span<float> heap = _heap.AsSpan(0, k);
        int size = 0;
        foreach (float v in values)
        {
            if (!(v > float.NegativeInfinity))
            {
                continue;
            }

            if (size < k)
            {
                heap[size] = v;
                SiftUp(heap, size++);
            }
            else if (v > heap[0])
            {
                heap[0] = v;
                SiftDown(heap, k);
            }
        }

        return size < k ? float.NegativeInfinity : heap[0];
    }

    private static void SiftUp(Span<float> heap, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (heap[parent] <= heap[i])
            {
                return;
            }

            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    private static void SiftDown(Span<float> heap, int size)
    {
        int i = 0;
        while (true)
        {
            int l = (2 * i) + 1;
            int r = l + 1;
            int smallest = i;
            if (l < size && heap[l] < heap[smallest])
            {
                smallest = l;
            }

            if (r < size && heap[r] < heap[smallest])
            {
                smallest = r;
            }

            if (smallest == i)
            {
                return;
            }

            (heap[smallest], heap[i]) = (heap[i], heap[smallest]);
            i = smallest;
        }
    }
}
