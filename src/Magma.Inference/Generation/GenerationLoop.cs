using System.Text;

namespace Magma.Inference.Generation;

/// <summary>What the loop needs from the decoder: the current logits and a way to feed one token.</summary>
internal interface IDecodeSteps
{
    /// <summary>Positions already in the KV cache.</summary>
    int Position { get; }

    /// <summary>Positions the KV cache can hold.</summary>
    int Capacity { get; }

    /// <summary>Next-token logits of the last position (writable: processors edit them in place).</summary>
    Span<float> CurrentLogits { get; }

    /// <summary>Feeds one token and refreshes the logits.</summary>
    void Step(int tokenId);
}

/// <summary>Turns generated ids into text deltas (the tokenizer's streaming decoder in production).</summary>
internal interface ITextStream
{
    string Append(int tokenId);

    string Flush();
}

/// <summary>
/// The decode loop of one request, one token per <see cref="MoveNext"/>: processors -> sampler -> stop checks ->
/// text delta; the chosen token is fed to the decoder lazily on the next call, so nothing runs after the last token.
/// </summary>
internal sealed class GenerationLoop
{
    private readonly IDecodeSteps _steps;
    private readonly ITextStream _text;
    private readonly TokenSampler _sampler;
    private readonly IReadOnlyList<ILogitsProcessor> _processors;
    private readonly int[] _stopIds;
    private readonly StopStringMatcher _stops;
    private readonly int _maxNewTokens;
    private readonly List<int> _generated;
    private readonly StringBuilder _pending = new();
    private int _feed = -1;

    public GenerationLoop(IDecodeSteps steps, ITextStream text, GenerationOptions options, IReadOnlyList<int> stopIds, ulong seed)
    {
        _steps = steps;
        _text = text;
        _sampler = new TokenSampler(steps.CurrentLogits.Length, options, seed);
        _processors = options.LogitsProcessors;
        _stopIds = [.. stopIds];
        _stops = new StopStringMatcher(options.StopStrings);
        _maxNewTokens = options.MaxNewTokens;
        _generated = new List<int>(Math.Min(options.MaxNewTokens, 4096));
    }

    /// <summary>Ids generated so far (a final stop token included).</summary>
    public IReadOnlyList<int> Generated => _generated;

    /// <summary>Set once generation has ended.</summary>
    public FinishReason? Finish { get; private set; }

    /// <summary>All text emitted so far.</summary>
    public StringBuilder Text { get; } = new();

    /// <summary>Generates one token. Returns false once finished; <paramref name="delta"/> is the text it settled.</summary>
    public bool MoveNext(CancellationToken cancellationToken, out int tokenId, out string delta)
    {
        tokenId = -1;
        delta = string.Empty;
        if (Finish is not null)
        {
            return false;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (_feed >= 0)
        {
            _steps.Step(_feed);
            _feed = -1;
        }

        tokenId = Choose();
        _generated.Add(tokenId);
        if (Array.IndexOf(_stopIds, tokenId) >= 0)
        {
            Finish = FinishReason.StopToken;
            delta = Settle(_text.Flush(), final: true);
            return true;
        }

        string piece = _text.Append(tokenId);
        bool full = _generated.Count >= _maxNewTokens;
        bool contextFull = _steps.Position >= _steps.Capacity;
        if (full || contextFull)
        {
            piece += _text.Flush();
        }

        delta = Settle(piece, final: full || contextFull);
        if (Finish is null && (full || contextFull))
        {
            Finish = full ? FinishReason.MaxTokens : FinishReason.ContextLimit;
        }

        if (Finish is null)
        {
            _feed = tokenId;
        }

        return true;
    }

    private int Choose()
    {
        Span<float> logits = _steps.CurrentLogits;
        ReadOnlySpan<int> generated = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_generated);
        foreach (ILogitsProcessor p in _processors)
        {
            p.Process(generated, logits);
        }

        return _sampler.Next(logits);
    }

    /// <summary>Applies stop strings to new text; returns what may be emitted now and sets Finish on a match.</summary>
    private string Settle(string piece, bool final)
    {
        if (_stops.IsEmpty)
        {
            Text.Append(piece);
            return piece;
        }

        int searchFrom = _pending.Length;
        _pending.Append(piece);
        string pending = _pending.ToString();
        int stop = _stops.FindStop(pending, searchFrom);
        string emit;
        if (stop >= 0)
        {
            Finish = FinishReason.StopString;
            emit = pending[..stop];
            _pending.Clear();
        }
        else
        {
            int safe = final ? pending.Length : _stops.SafeLength(pending);
            emit = pending[..safe];
            _pending.Remove(0, safe);
        }

        Text.Append(emit);
        return emit;
    }
}
