using System.Runtime.InteropServices;
using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The decoder state of up to B independent requests decoded together (GroupQueryAttention graphs only). Each request
/// owns a slot b of every buffer: its [1,KV,capacity,D] part of the [B,KV,capacity,D] KV cache, row b of the
/// [B,capacity] static mask, of the [B,1,V] logits and of the [B,1] chosen tokens.
/// <para>
/// Prompts are prefilled several at a time into neighbouring slots (<see cref="Prefill"/>): a right-padded [n,T] run
/// with an all-ones mask. Causal attention keeps the padding after a row's prompt out of that prompt's positions, and
/// every row is then a plain "first prompt" of T positions to the graph (rotary positions 0..T-1 whether the graph
/// rotates itself or GQA does), so the kernel needs no notion of per-row lengths. The graph's logits are those of
/// column T-1 only (the LM head is pruned to the last position), which is padding for shorter rows: so the prefill
/// stops one position short of each prompt and the prompt's last embedding is fed by the next <see cref="Step"/>
/// (<see cref="QueueEmbedding"/>), which writes it at the row's own position and yields its first-token logits; the
/// padding the prefill wrote past a row's prompt is overwritten or masked from then on.
/// </para>
/// <para>
/// A decode step runs the first <c>rows</c> slots as one [rows,1] batch, which reads the weights once for all of
/// them. GQA takes each row's length from its mask sum (seqlens_k), so rows of different lengths need no padding.
/// A slot that is not stepping rides along with a mask of at least one position (a free slot keeps position 0),
/// never an empty one: GQA would read seqlens_k = -1.
/// </para>
/// </summary>
internal sealed class BatchDecodeContext : IDisposable
{
    private static readonly byte[] s_one = BitConverter.GetBytes(1L);

    private readonly MagmaSessions _s;
    private readonly DecoderManifest _d;
    private readonly int _elem;
    private readonly long _slotBytes;
    private readonly NativeBuffer[] _kv;
    private readonly NativeBuffer _mask;
    private readonly NativeBuffer _ids;
    private readonly NativeBuffer _embeds;
    private readonly NativeBuffer? _hostEmbeds;
    private readonly NativeBuffer _logits;
    private readonly NativeBuffer? _next;
    private readonly NativeBuffer? _bias;
    private readonly OrtValue? _biasValue;
    private readonly StepBinding?[] _steps;
    private readonly int[] _positions;
    private readonly byte[]?[] _queued;
    private readonly byte[] _rowRaw;
    private readonly float[] _row;
    private readonly long[] _selected;
    private NativeBuffer? _prefillOnes;
    private byte[]? _biasRaw;
    private int[]? _allowed;
    private bool _selectedStale = true;

    public BatchDecodeContext(MagmaSessions sessions, int batch, int capacity)
    {
        if (!sessions.SharedKv || !sessions.LogitsPruned)
        {
            throw new InvalidOperationException("Batched decoding needs a GroupQueryAttention decoder with last-position logits.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _s = sessions;
        _d = sessions.Manifest.Decoder;
        Batch = batch;
        Capacity = capacity;
        TensorElementType f = sessions.FloatType;
        _elem = NativeBuffer.ElementSize(f);
        _slotBytes = (long)_d.NumKeyValueHeads * capacity * _d.HeadDim * _elem;
        _kv = new NativeBuffer[_d.NumLayers * 2];
        for (int i = 0; i < _kv.Length; i++)
        {
            _kv[i] = sessions.AllocateCache(_slotBytes * batch);
        }

        _mask = sessions.AllocateDevice(batch * capacity * 8L);
        _mask.Clear(0, _mask.Bytes);
        _ids = NativeBuffer.Host(batch * 8L);
        _ids.Clear(0, _ids.Bytes); // rows that ride along keep feeding a valid id
        _embeds = sessions.AllocateDevice((long)batch * _d.HiddenSize * _elem);
        // A host table (MagmaModelOptions.EmbeddingOnCpu) writes the rows here; each step copies them into _embeds.
        _hostEmbeds = sessions.HostEmbedding ? NativeBuffer.Host(_embeds.Bytes) : null;
        _logits = sessions.AllocateDevice((long)batch * _d.VocabSize * _elem);
        if (_d.NextToken is not null)
        {
            _next = sessions.AllocateDevice(batch * 8L);
            if (_d.TokenBias is not null)
            {
                _bias = sessions.AllocateDevice((long)_d.VocabSize * _elem);
                _bias.Clear(0, _bias.Bytes);
                _biasValue = _bias.View(f, [_d.VocabSize]);
            }
        }

        _steps = new StepBinding?[batch + 1];
        _positions = new int[batch];
        _queued = new byte[]?[batch];
        for (int row = 0; row < batch; row++)
        {
            Release(row);
        }

        _rowRaw = new byte[_d.VocabSize * _elem];
        _row = new float[_d.VocabSize];
        _selected = new long[batch];
    }

    public int Batch { get; }

    public int Capacity { get; }

    public bool CanSelectOnDevice => _next is not null && _bias is not null;

    /// <summary>Positions in slot <paramref name="row"/>'s cache.</summary>
    public int Position(int row) => _positions[row];

    /// <summary>Bytes of one position's embedding (hidden size × element size).</summary>
    public int EmbeddingBytes => _d.HiddenSize * _elem;

    /// <summary>One token set for every row (a shared [V] bias row); null lifts it. Rewritten only when the set changes.</summary>
    public void RestrictTokens(int[]? sortedAllowed)
    {
        if (ReferenceEquals(sortedAllowed, _allowed))
        {
            return;
        }

        if (_bias is null)
        {
            throw new InvalidOperationException("decoder.onnx has no token_bias input.");
        }

        _allowed = sortedAllowed;
        if (sortedAllowed is null)
        {
            _bias.Clear(0, _bias.Bytes);
            return;
        }

        _biasRaw ??= new byte[_bias.Bytes];
        TokenBias.Fill(_biasRaw, _s.FloatType, sortedAllowed);
        _bias.Write(_biasRaw);
    }

    /// <summary>
    /// Prefills <paramref name="lengths"/>.Length prompts into slots <paramref name="firstRow"/>.. in one run.
    /// <paramref name="embeds"/> holds them right-padded to <paramref name="width"/> ([n,width,H] raw elements, host
    /// memory); row i's first <paramref name="lengths"/>[i] positions are its prompt. A row of length 0 only has its
    /// slot cleared (its one position comes with the next step). The logits of this run are not meaningful (see the
    /// class remarks).
    /// </summary>
    public void Prefill(int firstRow, NativeBuffer embeds, int width, ReadOnlySpan<int> lengths)
    {
        int n = lengths.Length;
        if (firstRow < 0 || n <= 0 || firstRow + n > Batch)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"Rows {firstRow}..{firstRow + n - 1} are outside the batch of {Batch}.");
        }

        if (width > Capacity || width < 0)
        {
            throw new InvalidOperationException($"Prompts of {width} positions do not fit the batch cache of {Capacity}.");
        }

        if (width > 0)
        {
            RunPrefill(firstRow, n, embeds, width);
        }

        for (int i = 0; i < n; i++)
        {
            int row = firstRow + i;
            if (lengths[i] < 0 || lengths[i] > width)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), $"Row {row}: length {lengths[i]} outside 0..{width}.");
            }

            long rowStart = (long)row * Capacity * 8;
            _mask.Clear(rowStart, Capacity * 8L);
            if (lengths[i] > 0)
            {
                _mask.Write(_s.OnesBytes(lengths[i]), rowStart);
            }

            _positions[row] = lengths[i];
            _queued[row] = null;
        }

        _selectedStale = true;
    }

    private void RunPrefill(int firstRow, int n, NativeBuffer embeds, int width)
    {
        TensorElementType f = _s.FloatType;
        long ones = (long)n * width;
        if (_prefillOnes is null || _prefillOnes.Bytes < ones * 8)
        {
            _prefillOnes?.Dispose();
            _prefillOnes = NativeBuffer.Host(ones * 8);
            _prefillOnes.HostSpan<long>(0, checked((int)ones)).Fill(1);
        }

        using OrtIoBinding binding = _s.Decoder.CreateIoBinding();
        using OrtValue input = embeds.View(f, [n, width, _d.HiddenSize]);
        using OrtValue mask = _prefillOnes.View(TensorElementType.Int64, [n, width]);
        using OrtValue logits = _logits.View(f, [n, 1, _d.VocabSize], (long)firstRow * _d.VocabSize * _elem);
        using OrtValue? next = _next?.View(TensorElementType.Int64, [n, 1], firstRow * 8L);
        var slots = new List<OrtValue>(_kv.Length);
        try
        {
            binding.BindInput(_d.InputsEmbeds, input);
            binding.BindInput(_d.AttentionMask, mask);
            for (int i = 0; i < _kv.Length; i++)
            {
                slots.Add(_kv[i].View(f, [n, _d.NumKeyValueHeads, Capacity, _d.HeadDim], firstRow * _slotBytes));
            }

            BindCacheAndOutputs(binding, slots, logits, next);
            _s.Decoder.RunWithBinding(_s.RunOptions, binding);
        }
        finally
        {
            foreach (OrtValue v in slots)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>
    /// Makes the next <see cref="Step"/> feed slot <paramref name="row"/> this embedding ([H] raw elements, e.g. the
    /// last position of its prompt) instead of an embedded token id. The array is read at that step.
    /// </summary>
    public void QueueEmbedding(int row, byte[] embedding)
    {
        if (embedding.Length != EmbeddingBytes)
        {
            throw new ArgumentException($"An embedding is {EmbeddingBytes} bytes; got {embedding.Length}.", nameof(embedding));
        }

        _queued[row] = embedding;
    }

    /// <summary>Frees slot <paramref name="row"/>: it rides along at position 0 until a prefill takes it.</summary>
    public void Release(int row)
    {
        long rowStart = (long)row * Capacity * 8;
        _mask.Clear(rowStart, Capacity * 8L);
        _mask.Write(s_one, rowStart);
        _positions[row] = 0;
        _queued[row] = null;
    }

    /// <summary>Binds each layer's K/V (one value as past and present), the logits, the choice and the shared bias.</summary>
    private void BindCacheAndOutputs(OrtIoBinding binding, List<OrtValue> kv, OrtValue logits, OrtValue? next)
    {
        for (int i = 0; i < _d.NumLayers; i++)
        {
            binding.BindInput(_d.PastKeyName(i), kv[i * 2]);
            binding.BindInput(_d.PastValueName(i), kv[(i * 2) + 1]);
            binding.BindOutput(_d.PresentKeyName(i), kv[i * 2]);
            binding.BindOutput(_d.PresentValueName(i), kv[(i * 2) + 1]);
        }

        binding.BindOutput(_d.Logits, logits);
        if (next is not null)
        {
            binding.BindOutput(_d.NextToken!, next);
        }

        if (_biasValue is not null)
        {
            binding.BindInput(_d.TokenBias!, _biasValue);
        }
    }

    /// <summary>
    /// One decode step over slots 0..<paramref name="rows"/>-1: slots with <paramref name="active"/> set take
    /// <paramref name="tokens"/>[slot] (or their queued embedding) at their next position; the others ride along.
    /// </summary>
    public void Step(ReadOnlySpan<int> tokens, ReadOnlySpan<bool> active, int rows)
    {
        if (rows <= 0 || rows > Batch)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows; the batch has {Batch}.");
        }

        Span<long> ids = _ids.HostSpan<long>(0, rows);
        bool queued = false;
        for (int row = 0; row < rows; row++)
        {
            if (!active[row])
            {
                continue;
            }

            if (_positions[row] >= Capacity)
            {
                throw new InvalidOperationException($"Row {row}: the KV cache of {Capacity} positions is full.");
            }

            queued |= _queued[row] is not null;
            ids[row] = _queued[row] is null ? tokens[row] : 0;
            _mask.Write(s_one, (((long)row * Capacity) + _positions[row]) * 8, synchronize: false);
        }

        _mask.Synchronize(); // one wait for all rows' mask bits, not one per row

        StepBinding step = _steps[rows] ??= new StepBinding(this, rows);
        if (_s.OnDevice && _hostEmbeds is null)
        {
            // The device copy of a host input is made at bind time: re-bind the ids this step rewrote.
            step.Embed.BindInput(_s.Manifest.Embed.Input, step.Ids);
        }

        _s.Embed.RunWithBinding(_s.RunOptions, step.Embed);
        if (_hostEmbeds is not null)
        {
            _embeds.Write(_hostEmbeds.HostSpan<byte>(0, rows * EmbeddingBytes));
        }

        if (queued)
        {
            for (int row = 0; row < rows; row++)
            {
                if (active[row] && _queued[row] is byte[] e)
                {
                    _embeds.Write(e, (long)row * EmbeddingBytes);
                    _queued[row] = null;
                }
            }
        }

        _s.Decoder.RunWithBinding(_s.RunOptions, step.Decoder);
        for (int row = 0; row < rows; row++)
        {
            _positions[row] += active[row] ? 1 : 0;
        }

        _selectedStale = true;
    }

    /// <summary>The graph's greedy choice for slot <paramref name="row"/> after the last step (all rows read at once).</summary>
    public int Selected(int row)
    {
        if (_next is null)
        {
            throw new InvalidOperationException("decoder.onnx has no next_token output.");
        }

        if (_selectedStale)
        {
            _next.Read(MemoryMarshal.AsBytes(_selected.AsSpan()));
            _selectedStale = false;
        }

        return checked((int)_selected[row]);
    }

    /// <summary>Slot <paramref name="row"/>'s logits (float32 scratch, valid until the next call).</summary>
    public Span<float> Logits(int row)
    {
        long offset = (long)row * _d.VocabSize * _elem;
        _logits.Read(_rowRaw, offset);
        DecodeContext.ToSingle(_rowRaw, _s.FloatType, _row);
        return _row;
    }

    /// <summary>
    /// Slot <paramref name="row"/>'s first <paramref name="positions"/> cached positions of K/V buffer
    /// <paramref name="buffer"/> (layer·2 + 0 for keys, + 1 for values) as float32 [KV, positions, D] (tests).
    /// </summary>
    internal float[] ReadKv(int buffer, int row, int positions)
    {
        int d = _d.HeadDim;
        var result = new float[_d.NumKeyValueHeads * positions * d];
        byte[] raw = new byte[positions * d * _elem];
        for (int h = 0; h < _d.NumKeyValueHeads; h++)
        {
            _kv[buffer].Read(raw, (row * _slotBytes) + ((long)h * Capacity * d * _elem));
            DecodeContext.ToSingle(raw, _s.FloatType, result.AsSpan(h * positions * d, positions * d));
        }

        return result;
    }

    public void Dispose()
    {
        foreach (StepBinding? b in _steps)
        {
            b?.Dispose();
        }

        foreach (NativeBuffer b in _kv)
        {
            b?.Dispose();
        }

        _mask.Dispose();
        _ids.Dispose();
        _embeds.Dispose();
        _hostEmbeds?.Dispose();
        _logits.Dispose();
        _next?.Dispose();
        _biasValue?.Dispose();
        _bias?.Dispose();
        _prefillOnes?.Dispose();
    }

    /// <summary>The bindings of a step over the first <c>rows</c> slots: views of the buffers, made on first use.</summary>
    private sealed class StepBinding : IDisposable
    {
        private readonly List<OrtValue> _values = [];

        public StepBinding(BatchDecodeContext c, int rows)
        {
            TensorElementType f = c._s.FloatType;
            DecoderManifest d = c._d;
            Ids = Add(c._ids.View(TensorElementType.Int64, [rows, 1]));
            OrtValue embeds = Add(c._embeds.View(f, [rows, 1, d.HiddenSize]));
            var kv = new List<OrtValue>(c._kv.Length);
            foreach (NativeBuffer b in c._kv)
            {
                kv.Add(Add(b.View(f, [rows, d.NumKeyValueHeads, c.Capacity, d.HeadDim])));
            }

            Decoder = c._s.Decoder.CreateIoBinding();
            Decoder.BindInput(d.InputsEmbeds, embeds);
            Decoder.BindInput(d.AttentionMask, Add(c._mask.View(TensorElementType.Int64, [rows, c.Capacity])));
            c.BindCacheAndOutputs(
                Decoder, kv, Add(c._logits.View(f, [rows, 1, d.VocabSize])), c._next is null ? null : Add(c._next.View(TensorElementType.Int64, [rows, 1])));
            Embed = c._s.Embed.CreateIoBinding();
            Embed.BindInput(c._s.Manifest.Embed.Input, Ids);
            Embed.BindOutput(c._s.Manifest.Embed.Output, c._hostEmbeds is null ? embeds : Add(c._hostEmbeds.View(f, [rows, 1, d.HiddenSize])));
        }

        public OrtValue Ids { get; }

        public OrtIoBinding Decoder { get; }

        public OrtIoBinding Embed { get; }

        private OrtValue Add(OrtValue v)
        {
            _values.Add(v);
            return v;
        }

        public void Dispose()
        {
            Decoder.Dispose();
            Embed.Dispose();
            foreach (OrtValue v in _values)
            {
                v.Dispose();
            }
        }
    }
}
