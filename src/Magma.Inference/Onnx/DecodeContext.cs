using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// The decoder state of a request: its KV cache, its IO bindings and the buffers that carry one token per step
/// (id -> embedding -> decoder -> logits and the greedy choice). Everything is allocated and bound here or in the
/// prefill. In shared-buffer mode (GroupQueryAttention) a decode step rebinds nothing: the attention mask is a static
/// [1,capacity] buffer (ONNX Runtime GenAI's scheme) in which the step sets one more 1, so a step is "write the id,
/// run embed, set mask[P] = 1, run the decoder" and allocates no managed memory. That fixed set of addresses is also
/// what lets the CUDA path capture the step as a CUDA graph, and why a CUDA context outlives its request
/// (<see cref="Reset"/>). Ping-pong mode (Concat graphs) rebinds the KV views and a mask of the new width every step.
/// Buffers the decoder reads or writes live where it runs (device memory on CUDA); the host reads back only what a
/// request asks for: a logits row when it samples or edits logits, otherwise the 8-byte <see cref="SelectedToken"/>.
/// </summary>
internal sealed class DecodeContext : Generation.IDecodeSteps, IDisposable
{
    private static readonly byte[] s_one = BitConverter.GetBytes(1L);

    private readonly MagmaSessions _s;
    private readonly DecoderManifest _d;
    private readonly OrtIoBinding _binding;
    private readonly OrtIoBinding _embedBinding;
    private readonly NativeBuffer _stepId;
    private readonly OrtValue _stepIdValue;
    private readonly NativeBuffer _stepEmbed;
    private readonly OrtValue _stepEmbedValue;
    private readonly NativeBuffer? _hostStepEmbed;
    private readonly OrtValue? _hostStepEmbedValue;
    private readonly NativeBuffer _stepLogits;
    private readonly OrtValue _stepLogitsValue;
    private readonly byte[]? _logitsRaw;
    private readonly float[]? _logits;
    private readonly NativeBuffer? _nextToken;
    private readonly OrtValue? _nextTokenValue;
    private readonly NativeBuffer? _tokenBias;
    private readonly OrtValue? _tokenBiasValue;
    private readonly byte[]? _biasRow;
    private readonly NativeBuffer? _stepMask;
    private readonly OrtValue? _stepMaskValue;
    private readonly List<OrtValue> _pingPongViews = [];
    private readonly RunOptions _stepRunOptions;
    private int[]? _allowed;
    private bool _selectOnDevice;
    private bool _logitsStale;
    private bool _tokenStale;
    private int _selected;
    private int _side;
    private long _stepCount;
    private long _stepTicks;
    private long _runTicks;

    internal DecodeContext(MagmaSessions sessions, int capacity, bool replaysGraph = false)
    {
        _s = sessions;
        // A captured graph keeps the addresses of the context it was captured with: only the model's one long-lived
        // context may replay it; any other runs its steps uncaptured.
        _stepRunOptions = replaysGraph && sessions.UsesCudaGraphs ? sessions.StepRunOptions : sessions.RunOptions;
        _d = sessions.Manifest.Decoder;
        TensorElementType f = sessions.FloatType;
        int elem = NativeBuffer.ElementSize(f);
        Cache = new KvCache(sessions.AllocateCache, f, _d.NumLayers, _d.NumKeyValueHeads, _d.HeadDim, capacity, sessions.SharedKv);
        _binding = sessions.Decoder.CreateIoBinding();
        _embedBinding = sessions.Embed.CreateIoBinding();

        _stepId = NativeBuffer.Host(8);
        _stepIdValue = _stepId.View(TensorElementType.Int64, [1, 1]);
        _stepEmbed = sessions.AllocateDevice((long)_d.HiddenSize * elem);
        _stepEmbedValue = _stepEmbed.View(f, [1, 1, _d.HiddenSize]);
        _embedBinding.BindInput(sessions.Manifest.Embed.Input, _stepIdValue);
        if (sessions.HostEmbedding)
        {
            // The table is on the host: the row lands here and each step copies it into _stepEmbed, the address the
            // decoder (and its captured graph) reads.
            _hostStepEmbed = NativeBuffer.Host((long)_d.HiddenSize * elem);
            _hostStepEmbedValue = _hostStepEmbed.View(f, [1, 1, _d.HiddenSize]);
        }

        _embedBinding.BindOutput(sessions.Manifest.Embed.Output, _hostStepEmbedValue ?? _stepEmbedValue);

        _stepLogits = sessions.AllocateDevice((long)_d.VocabSize * elem);
        _stepLogitsValue = _stepLogits.View(f, [1, 1, _d.VocabSize]);
        // float32 logits in host memory are read where the decoder wrote them (no 0.5 MB copy per step); device or
        // float16 logits are copied / converted, and only when someone reads them.
        if (!_stepLogits.IsHost || f != TensorElementType.Float)
        {
            _logitsRaw = _stepLogits.IsHost ? null : new byte[_d.VocabSize * elem];
            _logits = new float[_d.VocabSize];
        }

        if (_d.NextToken is not null && sessions.LogitsPruned)
        {
            _nextToken = sessions.AllocateDevice(8);
            _nextTokenValue = _nextToken.View(TensorElementType.Int64, [1, 1]);
            if (_d.TokenBias is not null)
            {
                _tokenBias = sessions.AllocateDevice((long)_d.VocabSize * elem);
                _tokenBias.Clear(0, _tokenBias.Bytes);
                _tokenBiasValue = _tokenBias.View(f, [_d.VocabSize]);
                _biasRow = new byte[_d.VocabSize * elem];
                _binding.BindInput(_d.TokenBias, _tokenBiasValue);
            }
        }

        if (Cache.Shared)
        {
            // GQA reads only sum(mask) (-> seqlens_k, the positions to attend and rotate) and the mask's width
            // (-> total_sequence_length, which must not exceed the shared buffer's capacity): a [1,capacity] mask
            // of P ones then zeros is the same input as [1,P] ones. Zeros are the "not yet written" tail.
            _stepMask = sessions.AllocateDevice(capacity * 8L);
            _stepMask.Clear(0, _stepMask.Bytes);
            _stepMaskValue = _stepMask.View(TensorElementType.Int64, [1, capacity]);

            for (int i = 0; i < _d.NumLayers; i++)
            {
                _binding.BindInput(_d.PastKeyName(i), Cache.SharedValue(i, value: false));
                _binding.BindInput(_d.PastValueName(i), Cache.SharedValue(i, value: true));
                _binding.BindOutput(_d.PresentKeyName(i), Cache.SharedValue(i, value: false));
                _binding.BindOutput(_d.PresentValueName(i), Cache.SharedValue(i, value: true));
            }
        }

        _binding.BindOutput(_d.Logits, _stepLogitsValue);
        if (_nextTokenValue is not null)
        {
            _binding.BindOutput(_d.NextToken!, _nextTokenValue);
        }
    }

    public KvCache Cache { get; }

    /// <summary>Positions already in the cache.</summary>
    public int Position { get; private set; }

    /// <summary>Positions the KV cache can hold.</summary>
    public int Capacity => Cache.Capacity;

    /// <inheritdoc />
    public int VocabSize => _d.VocabSize;

    /// <summary>The graph chooses greedy tokens itself (it has a <c>next_token</c> output), so a step can skip the logits.</summary>
    public bool CanSelectOnDevice => _nextToken is not null;

    /// <summary>Logits (float32) of the last position run; writable scratch for logits processors.</summary>
    public Span<float> CurrentLogits
    {
        get
        {
            if (_logits is null)
            {
                return _stepLogits.HostSpan<float>(0, _d.VocabSize);
            }

            if (_logitsStale)
            {
                LoadLogits(_stepLogits, 0);
            }

            return _logits;
        }
    }

    /// <summary>argmax(logits + token bias) of the last position run, computed by the graph (8 bytes read back).</summary>
    public int SelectedToken
    {
        get
        {
            if (_nextToken is null)
            {
                throw new InvalidOperationException("decoder.onnx has no next_token output; choose from CurrentLogits.");
            }

            if (_tokenStale)
            {
                Span<byte> id = stackalloc byte[8];
                _nextToken.Read(id);
                _selected = checked((int)BitConverter.ToInt64(id));
                _tokenStale = false;
            }

            return _selected;
        }
    }

    /// <summary>
    /// Decode steps run, and the <see cref="Stopwatch"/> ticks they took in total and inside the embed + decoder
    /// session runs. Host overhead = total - runs. Four timestamp reads per step, no allocation.
    /// </summary>
    internal (long Steps, long TotalTicks, long RunTicks) StepTimings => (_stepCount, _stepTicks, _runTicks);

    /// <summary>
    /// Feeds each step the graph's own choice (<see cref="SelectedToken"/>) instead of an id written by the host:
    /// greedy decoding without a round trip of the token. Call before <see cref="Prefill"/>.
    /// </summary>
    public void SelectOnDevice(bool enabled)
    {
        if (enabled && !CanSelectOnDevice)
        {
            throw new InvalidOperationException("decoder.onnx has no next_token output.");
        }

        _selectOnDevice = enabled;
        // A host table reads the chosen id from the host: each step writes SelectedToken (read anyway to check the stop ids).
        _embedBinding.BindInput(_s.Manifest.Embed.Input, enabled && !_s.HostEmbedding ? _nextTokenValue! : _stepIdValue);
    }

    /// <summary>
    /// Restricts <see cref="SelectedToken"/> of the next runs to <paramref name="sortedAllowed"/> (null: any token).
    /// Rewrites the device bias row only when the set changes (compared by reference).
    /// </summary>
    public void RestrictTokens(int[]? sortedAllowed)
    {
        if (ReferenceEquals(sortedAllowed, _allowed))
        {
            return;
        }

        if (_tokenBias is null)
        {
            throw new InvalidOperationException("decoder.onnx has no token_bias input.");
        }

        _allowed = sortedAllowed;
        if (sortedAllowed is null)
        {
            _tokenBias.Clear(0, _tokenBias.Bytes);
            return;
        }

        TokenBias.Fill(_biasRow, _s.FloatType, sortedAllowed);
        _tokenBias.Write(_biasRow);
    }

    /// <summary>Makes a used context ready for a new request (the CUDA path keeps one per model).</summary>
    public void Reset()
    {
        Position = 0;
        _side = 0;
        _logitsStale = _tokenStale = false;
        SelectOnDevice(false);
        if (_tokenBias is not null)
        {
            RestrictTokens(null);
        }
    }

    /// <summary>
    /// Runs the merged prompt embeddings ([T,H] in <paramref name="embeds"/>) through the decoder. With a
    /// <paramref name="width"/> (see <see cref="PrefillPadded"/>) the run is padded to that many positions.
    /// </summary>
    public void Prefill(NativeBuffer embeds, int length, int width = 0)
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

        if (width > 0)
        {
            PrefillPadded(embeds, length, width);
            return;
        }

        TensorElementType f = _s.FloatType;
        int elem = NativeBuffer.ElementSize(f);
        using OrtValue embedsValue = embeds.View(f, [1, length, _d.HiddenSize]);
        using OrtValue? positions = _d.HasPositionIds ? _s.PositionRange(length) : null;
        // A graph with logits for every position needs a [T,V] output; the pruned graph writes the step's own row.
        using NativeBuffer? allLogits = _s.LogitsPruned ? null : _s.AllocateDevice((long)length * _d.VocabSize * elem);
        using OrtValue? allLogitsValue = allLogits?.View(f, [1, length, _d.VocabSize]);

        _binding.BindInput(_d.InputsEmbeds, embedsValue);
        _binding.BindInput(_d.AttentionMask, _s.MaskView(length));
        if (positions is not null)
        {
            _binding.BindInput(_d.PositionIds, positions);
        }

        if (allLogitsValue is not null)
        {
            _binding.BindOutput(_d.Logits, allLogitsValue);
        }

        BindPingPong(length);
        _s.Decoder.RunWithBinding(_s.RunOptions, _binding);
        Position = length;
        _tokenStale = true;
        if (allLogits is not null)
        {
            LoadLogits(allLogits, (long)(length - 1) * _d.VocabSize * elem);
            _binding.BindOutput(_d.Logits, _stepLogitsValue);
        }
        else
        {
            _logitsStale = true;
        }

        // From here on every step reads the one-token embedding buffer and writes the one-row logits buffer.
        _binding.BindInput(_d.InputsEmbeds, _stepEmbedValue);
        if (_stepMask is not null)
        {
            _stepMask.Clear(0, _stepMask.Bytes);
            _stepMask.Write(_s.OnesBytes(length));
            _binding.BindInput(_d.AttentionMask, _stepMaskValue!);
        }
    }

    /// <summary>Prefills run padded since this context was made (tests check which way a request went).</summary>
    internal int PaddedPrefills { get; private set; }

    /// <summary>
    /// The prompt's first length-1 positions run right-padded to <paramref name="width"/> positions (any finite
    /// padding: <paramref name="embeds"/> holds at least max(width, length) rows), so the decoder only ever sees a few
    /// prefill shapes (<see cref="PrefillBuckets"/>), then the last position runs as a decode step, which writes its
    /// keys and values at its own position and yields the first token's logits: the pruned graph's logits are those of
    /// the run's last column, padding here. As in the batched prefill (<see cref="BatchDecodeContext"/>), causal
    /// attention keeps the padding out of the prompt's positions, and what the padding wrote past them is masked, then
    /// overwritten by later steps.
    /// </summary>
    private void PrefillPadded(NativeBuffer embeds, int length, int width)
    {
        if (_stepMask is null || !_s.LogitsPruned)
        {
            throw new InvalidOperationException("A padded prefill needs a GroupQueryAttention decoder with last-position logits.");
        }

        int prompt = length - 1;
        if (prompt < 1 || width < prompt || width > Cache.Capacity)
        {
            throw new InvalidOperationException($"A padded prefill of {length} positions at width {width} needs 2 <= length and length - 1 <= width <= {Cache.Capacity}.");
        }

        int vec = _d.HiddenSize * NativeBuffer.ElementSize(_s.FloatType);
        if (embeds.Bytes < (long)Math.Max(width, length) * vec)
        {
            throw new InvalidOperationException($"A padded prefill at width {width} needs {Math.Max(width, length)} rows of embeddings; the buffer holds {embeds.Bytes / vec}.");
        }

        RunPrompt(embeds, width);
        _stepMask.Write(_s.OnesBytes(prompt));
        Position = prompt;

        // The last prompt position: a decode step fed its embedding instead of an embedded id (no embed run).
        _stepEmbed.Write(embeds.HostSpan<byte>((long)prompt * vec, vec));
        _stepMask.Write(s_one, prompt * 8L);
        _s.Decoder.RunWithBinding(_stepRunOptions, _binding);
        Position = length;
        _logitsStale = _tokenStale = true;
        PaddedPrefills++;
    }

    /// <summary>
    /// Runs the decoder once over <paramref name="width"/> rows of <paramref name="embeds"/> as a first prompt with an
    /// all-ones mask (a padded prefill, or the warm-up of its width), then binds the one-token step buffers and clears
    /// the static mask; the position is left to the caller.
    /// </summary>
    private void RunPrompt(NativeBuffer embeds, int width)
    {
        using OrtValue embedsValue = embeds.View(_s.FloatType, [1, width, _d.HiddenSize]);
        _binding.BindInput(_d.InputsEmbeds, embedsValue);
        _binding.BindInput(_d.AttentionMask, _s.MaskView(width));
        _s.Decoder.RunWithBinding(_s.RunOptions, _binding);
        _binding.BindInput(_d.InputsEmbeds, _stepEmbedValue);
        _stepMask!.Clear(0, _stepMask.Bytes);
        _binding.BindInput(_d.AttentionMask, _stepMaskValue!);
    }

    /// <summary>
    /// Warm-up: runs a padded prefill of <paramref name="width"/> positions over <paramref name="embeds"/> (any finite
    /// rows) so that ONNX Runtime's per-shape set-up of that width happens at load. The context stays unused.
    /// </summary>
    internal void WarmPrefill(NativeBuffer embeds, int width)
    {
        if (Position != 0 || _stepMask is null || width > Cache.Capacity)
        {
            throw new InvalidOperationException($"Warm-up of a {width}-position prefill needs an unused GroupQueryAttention context of at least that capacity.");
        }

        RunPrompt(embeds, width);
    }

    /// <summary>
    /// Feeds <paramref name="tokenId"/> at the next position and refreshes <see cref="CurrentLogits"/> and
    /// <see cref="SelectedToken"/>. With <see cref="SelectOnDevice"/> the id must be the last <see cref="SelectedToken"/>.
    /// </summary>
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

        if (_selectOnDevice && tokenId != SelectedToken)
        {
            throw new InvalidOperationException($"Step({tokenId}) while the graph feeds its own choice {SelectedToken}.");
        }

        long start = Stopwatch.GetTimestamp();
        if (!_selectOnDevice || _s.HostEmbedding)
        {
            _stepId.HostSpan<long>(0, 1)[0] = tokenId;
        }

        if (_stepMask is not null)
        {
            // Static mask: the new position becomes valid; nothing is rebound.
            _stepMask.Write(s_one, Position * 8L);
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

        if (_s.OnDevice && !_selectOnDevice && !_s.HostEmbedding)
        {
            // The device copy of a host input is made at bind time: re-bind the id this step rewrote.
            _embedBinding.BindInput(_s.Manifest.Embed.Input, _stepIdValue);
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
                _stepMask.Clear(Position * 8L, 8);
            }

            throw;
        }

        long runEnd = Stopwatch.GetTimestamp();
        Position++;
        _logitsStale = _tokenStale = true;
        _runTicks += runEnd - runStart;
        _stepTicks += Stopwatch.GetTimestamp() - start;
        _stepCount++;
    }

    /// <summary>The two session runs of a step over the current bindings (a benchmark hook: runs without host work).</summary>
    internal void RunStepGraphs()
    {
        _s.Embed.RunWithBinding(_s.RunOptions, _embedBinding);
        if (_hostStepEmbed is not null)
        {
            _stepEmbed.Write(_hostStepEmbed.HostSpan<byte>(0, checked((int)_stepEmbed.Bytes)));
        }

        _s.Decoder.RunWithBinding(_stepRunOptions, _binding);
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
        _stepMask.Clear(position * 8L, (Capacity - position) * 8L);
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

    /// <summary>Brings one logits row (at <paramref name="byteOffset"/> of <paramref name="source"/>) into <see cref="CurrentLogits"/>.</summary>
    private void LoadLogits(NativeBuffer source, long byteOffset)
    {
        _logitsStale = false;
        if (_logits is null)
        {
            // Host float32: the prefill's last row goes where the steps write theirs, which is what CurrentLogits reads.
            source.HostSpan<float>(byteOffset, _d.VocabSize).CopyTo(_stepLogits.HostSpan<float>(0, _d.VocabSize));
            return;
        }

        ReadOnlySpan<byte> raw;
        if (source.IsHost)
        {
            raw = source.HostSpan<byte>(byteOffset, _d.VocabSize * NativeBuffer.ElementSize(_s.FloatType));
        }
        else
        {
            source.Read(_logitsRaw, byteOffset);
            raw = _logitsRaw;
        }

        ToSingle(raw, _s.FloatType, _logits);
    }

    /// <summary>One logits row in the graph's dtype (raw bytes) as float32.</summary>
    internal static void ToSingle(ReadOnlySpan<byte> raw, TensorElementType type, Span<float> destination)
    {
        if (type == TensorElementType.Float)
        {
            MemoryMarshal.Cast<byte, float>(raw).CopyTo(destination);
        }
        else
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(raw), destination);
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
        _hostStepEmbedValue?.Dispose();
        _hostStepEmbed?.Dispose();
        _stepLogitsValue.Dispose();
        _stepLogits.Dispose();
        _nextTokenValue?.Dispose();
        _nextToken?.Dispose();
        _tokenBiasValue?.Dispose();
        _tokenBias?.Dispose();
        _stepMaskValue?.Dispose();
        _stepMask?.Dispose();
        Cache.Dispose();
    }
}
