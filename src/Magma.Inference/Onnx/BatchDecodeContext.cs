using System.Runtime.InteropServices;
using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The decoder state of B independent requests decoded together (GroupQueryAttention graphs only). Each request owns
/// row b of every buffer: its slot [1,KV,capacity,D] of the [B,KV,capacity,D] KV cache, row b of the [B,capacity]
/// static mask, of the [B,1,V] logits and of the [B,1] chosen tokens. Prompts are prefilled one row at a time (their
/// lengths differ) through views of the row; a decode step then runs all B rows as one [B,1] batch, which reads the
/// weights once for B tokens. GQA takes each row's length from its mask sum (seqlens_k), so rows of different lengths
/// need no padding. A finished row keeps riding along (its mask no longer grows) until the batch ends.
/// </summary>
internal sealed class BatchDecodeContext : IDisposable
{
    private static readonly byte[] s_one = BitConverter.GetBytes(1L);

    private readonly MagmaSessions _s;
    private readonly DecoderManifest _d;
    private readonly int _elem;
    private readonly long _slotBytes;
    private readonly NativeBuffer[] _kv;
    private readonly OrtValue[] _kvFull;
    private readonly NativeBuffer _mask;
    private readonly OrtValue _maskFull;
    private readonly NativeBuffer _ids;
    private readonly OrtValue _idsValue;
    private readonly NativeBuffer _embeds;
    private readonly OrtValue _embedsValue;
    private readonly NativeBuffer _logits;
    private readonly OrtValue _logitsValue;
    private readonly NativeBuffer? _next;
    private readonly OrtValue? _nextValue;
    private readonly NativeBuffer? _bias;
    private readonly OrtValue? _biasValue;
    private readonly OrtIoBinding _step;
    private readonly OrtIoBinding _embed;
    private readonly int[] _positions;
    private readonly byte[] _rowRaw;
    private readonly float[] _row;
    private readonly long[] _selected;
    private int[]? _allowed;
    private bool _selectedStale = true;
    private bool _onDevice;

    public BatchDecodeContext(MagmaSessions sessions, int batch, int capacity)
    {
        if (!sessions.SharedKv || !sessions.LogitsPruned)
        {
            throw new InvalidOperationException("Batched decoding needs a GroupQueryAttention decoder with last-position logits.");
        }

        _s = sessions;
        _d = sessions.Manifest.Decoder;
        Batch = batch;
        Capacity = capacity;
        TensorElementType f = sessions.FloatType;
        _elem = NativeBuffer.ElementSize(f);
        _slotBytes = (long)_d.NumKeyValueHeads * capacity * _d.HeadDim * _elem;
        _kv = new NativeBuffer[_d.NumLayers * 2];
        _kvFull = new OrtValue[_kv.Length];
        for (int i = 0; i < _kv.Length; i++)
        {
            _kv[i] = sessions.AllocateDevice(_slotBytes * batch);
            _kvFull[i] = _kv[i].View(f, [batch, _d.NumKeyValueHeads, capacity, _d.HeadDim]);
        }

        _mask = sessions.AllocateDevice(batch * capacity * 8L);
        _mask.Clear(0, _mask.Bytes);
        _maskFull = _mask.View(TensorElementType.Int64, [batch, capacity]);
        _ids = NativeBuffer.Host(batch * 8L);
        _ids.Clear(0, _ids.Bytes); // rows that finish keep feeding their last id; before that, a valid 0
        _idsValue = _ids.View(TensorElementType.Int64, [batch, 1]);
        _embeds = sessions.AllocateDevice((long)batch * _d.HiddenSize * _elem);
        _embedsValue = _embeds.View(f, [batch, 1, _d.HiddenSize]);
        _logits = sessions.AllocateDevice((long)batch * _d.VocabSize * _elem);
        _logitsValue = _logits.View(f, [batch, 1, _d.VocabSize]);
        if (_d.NextToken is not null)
        {
            _next = sessions.AllocateDevice(batch * 8L);
            _nextValue = _next.View(TensorElementType.Int64, [batch, 1]);
            if (_d.TokenBias is not null)
            {
                _bias = sessions.AllocateDevice((long)_d.VocabSize * _elem);
                _bias.Clear(0, _bias.Bytes);
                _biasValue = _bias.View(f, [_d.VocabSize]);
            }
        }

        _step = sessions.Decoder.CreateIoBinding();
        _step.BindInput(_d.InputsEmbeds, _embedsValue);
        _step.BindInput(_d.AttentionMask, _maskFull);
        BindCacheAndOutputs(_step, _kvFull, _logitsValue, _nextValue);

        _embed = sessions.Embed.CreateIoBinding();
        _embed.BindInput(sessions.Manifest.Embed.Input, _idsValue);
        _embed.BindOutput(sessions.Manifest.Embed.Output, _embedsValue);
        _positions = new int[batch];
        _rowRaw = new byte[_d.VocabSize * _elem];
        _row = new float[_d.VocabSize];
        _selected = new long[batch];
    }

    public int Batch { get; }

    public int Capacity { get; }

    public bool CanSelectOnDevice => _next is not null;

    /// <summary>Positions in row <paramref name="row"/>'s cache.</summary>
    public int Position(int row) => _positions[row];

    /// <summary>Feed each row the graph's own greedy choice (see <see cref="DecodeContext.SelectOnDevice"/>).</summary>
    public void SelectOnDevice(bool enabled)
    {
        _onDevice = enabled && CanSelectOnDevice;
        _embed.BindInput(_s.Manifest.Embed.Input, _onDevice ? _nextValue! : _idsValue);
    }

    /// <summary>One token set for every row (a shared [V] bias row); null lifts it.</summary>
    public void RestrictTokens(int[]? sortedAllowed)
    {
        if (ReferenceEquals(sortedAllowed, _allowed))
        {
            return;
        }

        _allowed = sortedAllowed;
        if (_bias is null)
        {
            throw new InvalidOperationException("decoder.onnx has no token_bias input.");
        }

        if (sortedAllowed is null)
        {
            _bias.Clear(0, _bias.Bytes);
            return;
        }

        byte[] raw = new byte[_bias.Bytes];
        TokenBias.Fill(raw, _s.FloatType, sortedAllowed);
        _bias.Write(raw);
    }

    /// <summary>Runs row <paramref name="row"/>'s prompt ([T,H] merged embeddings) into its slot.</summary>
    public void Prefill(int row, NativeBuffer embeds, int length)
    {
        if (length <= 0 || length > Capacity)
        {
            throw new InvalidOperationException($"Prompt of {length} positions does not fit the batch cache of {Capacity}.");
        }

        TensorElementType f = _s.FloatType;
        using OrtIoBinding binding = _s.Decoder.CreateIoBinding();
        using OrtValue input = embeds.View(f, [1, length, _d.HiddenSize]);
        using OrtValue logits = _logits.View(f, [1, 1, _d.VocabSize], (long)row * _d.VocabSize * _elem);
        using OrtValue? next = _next?.View(TensorElementType.Int64, [1, 1], row * 8L);
        var slots = new List<OrtValue>(_kv.Length);
        try
        {
            binding.BindInput(_d.InputsEmbeds, input);
            binding.BindInput(_d.AttentionMask, _s.MaskView(length));
            for (int i = 0; i < _kv.Length; i++)
            {
                slots.Add(_kv[i].View(f, [1, _d.NumKeyValueHeads, Capacity, _d.HeadDim], row * _slotBytes));
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

        long rowStart = (long)row * Capacity * 8;
        _mask.Clear(rowStart, Capacity * 8L);
        _mask.Write(_s.OnesBytes(length), rowStart);
        _positions[row] = length;
        _selectedStale = true;
    }

    /// <summary>Binds each layer's K/V (one value as past and present), the logits, the choice and the shared bias.</summary>
    private void BindCacheAndOutputs(OrtIoBinding binding, IReadOnlyList<OrtValue> kv, OrtValue logits, OrtValue? next)
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
    /// One decode step for every row: rows with <paramref name="active"/> set take <paramref name="tokens"/>[row] (or,
    /// when choosing on the device, their last <see cref="Selected"/>) at their next position; the others ride along.
    /// </summary>
    public void Step(ReadOnlySpan<int> tokens, ReadOnlySpan<bool> active)
    {
        Span<long> ids = _ids.HostSpan<long>(0, Batch);
        for (int row = 0; row < Batch; row++)
        {
            if (!active[row])
            {
                continue;
            }

            if (_positions[row] >= Capacity)
            {
                throw new InvalidOperationException($"Row {row}: the KV cache of {Capacity} positions is full.");
            }

            ids[row] = tokens[row];
            _mask.Write(s_one, (((long)row * Capacity) + _positions[row]) * 8, synchronize: false);
        }

        _mask.Synchronize(); // one wait for all rows' mask bits, not one per row

        if (_s.OnDevice && !_onDevice)
        {
            _embed.BindInput(_s.Manifest.Embed.Input, _idsValue);
        }

        _s.Embed.RunWithBinding(_s.RunOptions, _embed);
        _s.Decoder.RunWithBinding(_s.RunOptions, _step);
        for (int row = 0; row < Batch; row++)
        {
            _positions[row] += active[row] ? 1 : 0;
        }

        _selectedStale = true;
    }

    /// <summary>The graph's greedy choice for row <paramref name="row"/> after the last prefill or step (all rows read at once).</summary>
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

    /// <summary>Row <paramref name="row"/>'s logits (float32 scratch, valid until the next call).</summary>
    public Span<float> Logits(int row)
    {
        long offset = (long)row * _d.VocabSize * _elem;
        _logits.Read(_rowRaw, offset);
        DecodeContext.ToSingle(_rowRaw, _s.FloatType, _row);
        return _row;
    }

    public void Dispose()
    {
        _step.Dispose();
        _embed.Dispose();
        foreach (OrtValue v in _kvFull)
        {
            v?.Dispose();
        }

        foreach (NativeBuffer b in _kv)
        {
            b?.Dispose();
        }

        _maskFull.Dispose();
        _mask.Dispose();
        _idsValue.Dispose();
        _ids.Dispose();
        _embedsValue.Dispose();
        _embeds.Dispose();
        _logitsValue.Dispose();
        _logits.Dispose();
        _nextValue?.Dispose();
        _next?.Dispose();
        _biasValue?.Dispose();
        _bias?.Dispose();
    }
}
