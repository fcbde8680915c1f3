using System.Diagnostics;
using System.Numerics.Tensors;
using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The decoder state of one request: its KV cache, its IO bindings and the buffers that carry one token per
/// step (id -> embedding -> decoder -> last-row logits). Everything is allocated and bound here or in the prefill,
/// once per request. In shared-buffer mode (GroupQueryAttention) a decode step rebinds nothing: the attention
/// mask is a static [1,capacity] buffer (ONNX Runtime GenAI's scheme) in which the step sets one more 1, so a step
/// is "write the id, run embed, set mask[P] = 1, run the decoder" and allocates no managed memory. Ping-pong mode
/// (Concat graphs) must rebind the KV views and a mask of the new width every step.
/// </summary>
internal sealed class DecodeContext : Generation.IDecodeSteps, IDisposable
{
    private readonly MagmaSessions _s;
    private readonly DecoderManifest _d;
    private readonly OrtIoBinding _binding;
    private readonly OrtIoBinding _embedBinding;
    private readonly NativeBuffer _stepId;
    private readonly OrtValue _stepIdValue;
    private readonly NativeBuffer _stepEmbed;
    private readonly OrtValue _stepEmbedValue;
    private readonly NativeBuffer _stepLogits;
    private readonly OrtValue _stepLogitsValue;
    private readonly float[]? _logits;
    private readonly NativeBuffer? _stepMask;
    private readonly OrtValue? _stepMaskValue;
    private readonly List<OrtValue> _pingPongViews = [];
    private int _side;
    private long _stepCount;
    private long _stepTicks;
    private long _runTicks;

    internal DecodeContext(MagmaSessions sessions, int capacity)
    {
        _s = sessions;
        _d = sessions.Manifest.Decoder;
        TensorElementType f = sessions.FloatType;
        int elem = NativeBuffer.ElementSize(f);
        Cache = new KvCache(sessions.AllocateDevice, f, _d.NumLayers, _d.NumKeyValueHeads, _d.HeadDim, capacity, sessions.SharedKv);
        _binding = sessions.Decoder.CreateIoBinding();
        _embedBinding = sessions.Embed.CreateIoBinding();

        _stepId = NativeBuffer.Host(8);
        _stepIdValue = _stepId.View(TensorElementType.Int64, [1, 1]);
        _stepEmbed = sessions.AllocateDevice((long)_d.HiddenSize * elem);
        _stepEmbedValue = _stepEmbed.View(f, [1, 1, _d.HiddenSize]);
        _embedBinding.BindInput(sessions.Manifest.Embed.Input, _stepIdValue);
        _embedBinding.BindOutput(sessions.Manifest.Embed.Output, _stepEmbedValue);

        _stepLogits = NativeBuffer.Host((long)_d.VocabSize * elem);
        _stepLogitsValue = _stepLogits.View(f, [1, 1, _d.VocabSize]);
        // float32 logits are read where the decoder wrote them (no 0.5 MB copy per step); float16 needs a converted copy.
        _logits = f == TensorElementType.Float ? null : new float[_d.VocabSize];

        if (Cache.Shared)
        {
            // GQA reads only sum(mask) (-> seqlens_k, the positions to attend and rotate) and the mask's width
            // (-> total_sequence_length, which must not exceed the shared buffer's capacity): a [1,capacity] mask
            // of P ones then zeros is the same input as [1,P] ones. Zeros are the "not yet written" tail.
            _stepMask = NativeBuffer.Host(capacity * 8L);
            _stepMask.HostSpan<long>(0, capacity).Clear();
            _stepMaskValue = _stepMask.View(TensorElementType.Int64, [1, capacity]);

            for (int i = 0; i < _d.NumLayers; i++)
            {
                _binding.BindInput(_d.PastKeyName(i), Cache.SharedValue(i, value: false));
                _binding.BindInput(_d.PastValueName(i), Cache.SharedValue(i, value: true));
                _binding.BindOutput(_d.PresentKeyName(i), Cache.SharedValue(i, value: false));
                _binding.BindOutput(_d.PresentValueName(i), Cache.SharedValue(i, value: true));
            }
        }
    }

    public KvCache Cache { get; }

    /// <summary>Positions already in the cache.</summary>
    public int Position { get; private set; }

    /// <summary>Positions the KV cache can hold.</summary>
    public int Capacity => Cache.Capacity;

    /// <summary>Logits (float32) of the last position run; writable scratch for logits processors.</summary>
    public Span<float> CurrentLogits => _logits ?? _stepLogits.HostSpan<float>(0, _d.VocabSize);

    /// <summary>
    /// Decode steps run, and the <see cref="Stopwatch"/> ticks they took in total and inside the embed + decoder
    /// session runs. Host overhead = total - runs. Four timestamp reads per step, no allocation.
    /// </summary>
    internal (long Steps, long TotalTicks, long RunTicks) StepTimings => (_stepCount, _stepTicks, _runTicks);

    /// <summary>Runs the merged prompt embeddings ([T,H] in <paramref name="embeds"/>) through the decoder.</summary>
    public void Prefill(NativeBuffer embeds, int length)
    {
        if (Position != 0)
        {
            throw new InvalidOperationException("Prefill runs once per request.");
        }

        if (length > Cache.Capacity)
        {
            throw new InvalidOperationException($"Prompt of {length} positions exceeds the cache of {Cache.Capacity}.");
        }

        if (length <= 0)
        {
            throw new InvalidOperationException("Prefill needs at least one position.");
        }

        TensorElementType f = _s.FloatType;
        int elem = NativeBuffer.ElementSize(f);
        int rows = _s.LogitsPruned ? 1 : length;
        using OrtValue embedsValue = embeds.View(f, [1, length, _d.HiddenSize]);
        using NativeBuffer prefillLogits = NativeBuffer.Host((long)rows * _d.VocabSize * elem);
        using OrtValue logitsValue = prefillLogits.View(f, [1, rows, _d.VocabSize]);
        using OrtValue? positions = _d.HasPositionIds ? _s.PositionRange(length) : null;

        _binding.BindInput(_d.InputsEmbeds, embedsValue);
        _binding.BindInput(_d.AttentionMask, _s.MaskView(length));
        if (positions is not null)
        {
            _binding.BindInput(_d.PositionIds, positions);
        }

        _binding.BindOutput(_d.Logits, logitsValue);
        BindPingPong(length);
        _s.Decoder.RunWithBinding(_s.RunOptions, _binding);
        Position = length;
        CopyLogits(prefillLogits, (long)(rows - 1) * _d.VocabSize * elem);

        // From here on every step reads the one-token embedding buffer and writes the one-row logits buffer.
        _binding.BindInput(_d.InputsEmbeds, _stepEmbedValue);
        _binding.BindOutput(_d.Logits, _stepLogitsValue);
        if (_stepMask is not null)
        {
            _stepMask.HostSpan<long>(0, length).Fill(1);
            _binding.BindInput(_d.AttentionMask, _stepMaskValue!);
        }
    }

    /// <summary>Feeds <paramref name="tokenId"/> at the next position and refreshes <see cref="CurrentLogits"/>.</summary>
    public void Step(int tokenId)
    {
        if (Position == 0)
        {
            throw new InvalidOperationException("Step before Prefill.");
        }

        if (Position >= Cache.Capacity)
        {
            throw new InvalidOperationException($"The KV cache of {Cache.Capacity} positions is full.");
        }

        long start = Stopwatch.GetTimestamp();
        _stepId.HostSpan<long>(0, 1)[0] = tokenId;
        if (_stepMask is not null)
        {
            // Static mask: the new position becomes valid; nothing is rebound.
            _stepMask.HostSpan<long>(Position * 8L, 1)[0] = 1;
        }
        else
        {
            _binding.BindInput(_d.AttentionMask, _s.MaskView(Position + 1));
            if (_d.HasPositionIds)
            {
                _binding.BindInput(_d.PositionIds, _s.PositionView(Position));
            }

            BindPingPong(1);
        }

        if (_s.OnDevice)
        {
            // The device copy of a host input is made at bind time: re-bind what this step rewrote. (Per-step cost on
            // GPUs only; device-side id/mask buffers with an async copy remove it, with the CUDA fast path.)
            _embedBinding.BindInput(_s.Manifest.Embed.Input, _stepIdValue);
            if (_stepMask is not null)
            {
                _binding.BindInput(_d.AttentionMask, _stepMaskValue!);
            }
        }

        long runStart = Stopwatch.GetTimestamp();
        try
        {
            RunStepGraphs();
        }
        catch
        {
            if (_stepMask is not null)
            {
                _stepMask.HostSpan<long>(Position * 8L, 1)[0] = 0;
            }

            throw;
        }

        long runEnd = Stopwatch.GetTimestamp();
        Position++;
        if (_logits is not null)
        {
            CopyLogits(_stepLogits, 0);
        }

        _runTicks += runEnd - runStart;
        _stepTicks += Stopwatch.GetTimestamp() - start;
        _stepCount++;
    }

    /// <summary>The two session runs of a step over the current bindings (a benchmark hook: runs without host work).</summary>
    internal void RunStepGraphs()
    {
        _s.Embed.RunWithBinding(_s.RunOptions, _embedBinding);
        _s.Decoder.RunWithBinding(_s.RunOptions, _binding);
    }

    /// <summary>
    /// Forgets positions from <paramref name="position"/> on, so later steps overwrite them (shared-buffer mode only;
    /// benchmarks and tests replay steps with it). The cache rows past the mask are never read, so nothing is cleared.
    /// </summary>
    internal void Rewind(int position)
    {
        if (_stepMask is null || Position == 0)
        {
            throw new InvalidOperationException("Rewind needs a prefilled shared-buffer decoder.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(position);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(position, Position);
        _stepMask.HostSpan<long>(position * 8L, Capacity - position).Clear();
        Position = position;
    }

    private void BindPingPong(int newTokens)
    {
        if (Cache.Shared)
        {
            return;
        }

        // The graph concatenates past (P positions, side A) and the new keys into present (P+T, side B).
        foreach (OrtValue v in _pingPongViews)
        {
            v.Dispose();
        }

        _pingPongViews.Clear();
        int past = Position;
        int present = Position + newTokens;
        for (int i = 0; i < _d.NumLayers; i++)
        {
            Bind(input: true, _d.PastKeyName(i), Cache.PingPongView(i, value: false, _side, past));
            Bind(input: true, _d.PastValueName(i), Cache.PingPongView(i, value: true, _side, past));
            Bind(input: false, _d.PresentKeyName(i), Cache.PingPongView(i, value: false, 1 - _side, present));
            Bind(input: false, _d.PresentValueName(i), Cache.PingPongView(i, value: true, 1 - _side, present));
        }

        _side = 1 - _side;
    }

    private void Bind(bool input, string name, OrtValue value)
    {
        _pingPongViews.Add(value);
        if (input)
        {
            _binding.BindInput(name, value);
        }
        else
        {
            _binding.BindOutput(name, value);
        }
    }

    private void CopyLogits(NativeBuffer source, long byteOffset)
    {
        if (_logits is not null)
        {
            ReadOnlySpan<Half> row = source.HostSpan<Half>(byteOffset, _d.VocabSize);
            TensorPrimitives.ConvertToSingle(row, _logits);
        }
        else if (source != _stepLogits)
        {
            // Prefill's last row goes where the steps write theirs, which is what CurrentLogits reads.
            source.HostSpan<float>(byteOffset, _d.VocabSize).CopyTo(_stepLogits.HostSpan<float>(0, _d.VocabSize));
        }
    }

    public void Dispose()
    {
        foreach (OrtValue v in _pingPongViews)
        {
            v.Dispose();
        }

        _binding.Dispose();
        _embedBinding.Dispose();
        _stepIdValue.Dispose();
        _stepId.Dispose();
        _stepEmbedValue.Dispose();
        _stepEmbed.Dispose();
        _stepLogitsValue.Dispose();
        _stepLogits.Dispose();
        _stepMaskValue?.Dispose();
        _stepMask?.Dispose();
        Cache.Dispose();
    }
}
