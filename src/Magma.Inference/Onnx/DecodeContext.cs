using System.Numerics.Tensors;
using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The decoder state of one request: its KV cache, its IO bindings and the buffers that carry one token per
/// step (id -> embedding -> decoder -> last-row logits). Everything is allocated here, once; a decode step only
/// writes the new id and rebinds the mask view of the new length.
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
    private readonly float[] _logits;
    private readonly List<OrtValue> _pingPongViews = [];
    private int _side;

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
        _logits = new float[_d.VocabSize];

        if (Cache.Shared)
        {
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
    public Span<float> CurrentLogits => _logits;

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

        _stepId.HostSpan<long>(0, 1)[0] = tokenId;
        _s.Embed.RunWithBinding(_s.RunOptions, _embedBinding);

        _binding.BindInput(_d.AttentionMask, _s.MaskView(Position + 1));
        if (_d.HasPositionIds)
        {
            _binding.BindInput(_d.PositionIds, _s.PositionView(Position));
        }

        BindPingPong(1);
        _s.Decoder.RunWithBinding(_s.RunOptions, _binding);
        Position++;
        CopyLogits(_stepLogits, 0);
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
        if (_s.FloatType == TensorElementType.Float16)
        {
            ReadOnlySpan<Half> row = source.HostSpan<Half>(byteOffset, _d.VocabSize);
            TensorPrimitives.ConvertToSingle(row, _logits);
        }
        else
        {
            source.HostSpan<float>(byteOffset, _d.VocabSize).CopyTo(_logits);
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
        Cache.Dispose();
    }
}
