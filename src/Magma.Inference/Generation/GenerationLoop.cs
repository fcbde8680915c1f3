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

    /// <summary>Width of the logits.</summary>
    int VocabSize => CurrentLogits.Length;

    /// <summary>Feeds one token and refreshes the logits.</summary>
    void Step(int tokenId);

    /// <summary>The decoder can pick greedy tokens itself (see <see cref="SelectedToken"/>).</summary>
    bool CanSelectOnDevice => false;

    /// <summary>The decoder's greedy choice for the last position, under the current <see cref="RestrictTokens"/> set.</summary>
    int SelectedToken => throw new NotSupportedException();

    /// <summary>Feed the decoder its own choice each step (greedy). Called before the prefill.</summary>
    void SelectOnDevice(bool enabled) => throw new NotSupportedException();

    /// <summary>Limits <see cref="SelectedToken"/> of the next run to a sorted id set (null: no limit).</summary>
    void RestrictTokens(int[]? sortedAllowed) => throw new NotSupportedException();
}

/// <summary>A logits processor that is exactly "only these ids", so the decoder can apply it where the logits are.</summary>
internal interface ITokenSetConstraint
{
    /// <summary>The sorted ids allowed for the token at index <paramref name="generatedCount"/>; the same array while the set is unchanged.</summary>
    int[] AllowedAt(int generatedCount);
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
    private readonly ITokenSetConstraint? _tokenSet;
    private readonly bool _onDevice;
    private int _feed = -1;

    /// <summary>
    /// Creates the loop and, for greedy requests whose only processor is a token set, lets the decoder choose on the
    /// device; so it is created before the prefill, whose run already picks the first token.
    /// </summary>
    public GenerationLoop(IDecodeSteps steps, ITextStream text, GenerationOptions options, IReadOnlyList<int> stopIds, ulong seed)
    {
        _steps = steps;
        _text = text;
        _sampler = new TokenSampler(steps.VocabSize, options, seed);
        _processors = options.LogitsProcessors;
        _stopIds = [.. stopIds];
        _stops = new StopStringMatcher(options.StopStrings);
        _maxNewTokens = options.MaxNewTokens;
        _generated = new List<int>(Math.Min(options.MaxNewTokens, 4096));
        _tokenSet = _processors is [ITokenSetConstraint only] ? only : null;
        _onDevice = !options.DoSample && steps.CanSelectOnDevice && (_processors.Count == 0 || _tokenSet is not null);
        if (_onDevice)
        {
            steps.SelectOnDevice(true);
            steps.RestrictTokens(_tokenSet?.AllowedAt(0));
        }
    }

    /// <summary>Tokens are chosen by the decoder graph (greedy, argmax on the device); logits never reach the host.</summary>
    public bool ChoosesOnDevice => _onDevice;

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
        int[]? allowed = _tokenSet?.AllowedAt(_generated.Count);
        if (allowed is [int forced] && Array.IndexOf(_stopIds, forced) >= 0)
        {
            // The constraint leaves only a stop token (a robot action's EOS): the decoder need not run to pick it.
            tokenId = forced;
            _feed = -1;
        }
        else
        {
            if (_feed >= 0)
            {
                if (_onDevice)
                {
                    _steps.RestrictTokens(allowed);
                }

                _steps.Step(_feed);
                _feed = -1;
            }

            tokenId = _onDevice ? _steps.SelectedToken : Choose();
        }

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
