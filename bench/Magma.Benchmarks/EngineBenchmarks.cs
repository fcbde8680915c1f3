using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;
using Magma.Inference.Text;

namespace Magma.Benchmarks;

/// <summary>
/// The engine on the tiny random-weight package (tests/assets/tiny-magma, CPU EP, default thread count): time to
/// first token, greedy decode throughput, and the cost of one decode step with and without its two session runs.
/// The tiny decoder's runs are cheap, so host overhead is a large share here; on Magma-8B it is the same absolute cost.
/// </summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private const int DecodeTokens = 32;
    private const int StepWindow = 32;
    private const string Question = "What is shown on the screen? Answer briefly.";

    private readonly GenerationOptions _greedy = new() { MaxNewTokens = DecodeTokens, StopTokenIds = [] };
    private readonly GenerationOptions _firstToken = new() { MaxNewTokens = 1, StopTokenIds = [] };
    private MagmaModel _model = null!;
    private IReadOnlyList<ChatTurn> _textTurns = [];
    private IReadOnlyList<ChatTurn> _imageTurns = [];
    private RgbImage _screenshot = null!;
    private NativeBuffer? _promptEmbeds;
    private DecodeContext? _context;
    private float[] _prefillLogits = [];
    private int _promptLength;

    [GlobalSetup]
    public void Setup()
    {
        _model = MagmaModel.Load(BenchmarkAssets.PathOf("tiny-magma"));
        _textTurns = MagmaPrompts.Conversation(Question);
        _imageTurns = MagmaPrompts.Conversation(MagmaPrompts.VisualQuestion(Question, _model.UseImageStartEnd));
        _screenshot = RgbImage.FromPixels(1280, 720, BenchmarkAssets.Screenshot(1280, 720));

        int[] ids = _model.Engine.Tokenize(_textTurns);
        _promptEmbeds = _model.Engine.BuildEmbeddings(ids, [], out _promptLength, out _);
        // Room for many steps before DecodeStep has to rewind.
        _context = _model.Engine.Sessions.BeginDecode(_promptLength + 1024);
        _context.Prefill(_promptEmbeds, _promptLength);
        _prefillLogits = _context.CurrentLogits.ToArray();
        for (int i = 0; i < 16; i++)
        {
            _context.Step(1000 + i);
        }

        _context.Rewind(_promptLength);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_context is not null)
        {
            (long steps, long total, long runs) = _context.StepTimings;
            if (steps > 0)
            {
                double us = 1e6 / Stopwatch.Frequency;
                // BenchmarkDotNet copies this line into the run's log: the in-Step instrumentation, all calls of this process.
                Console.WriteLine(
                    $"// EngineStepTimings: steps={steps} step={total * us / steps:F2}us runs={runs * us / steps:F2}us host={(total - runs) * us / steps:F2}us per step");
            }
        }

        _context?.Dispose();
        _promptEmbeds?.Dispose();
        _model.Dispose();
    }

    /// <summary>Chat template + tokenizer + embed + prefill + first sampled token.</summary>
    [Benchmark(Description = "TTFT, text prompt")]
    public int TimeToFirstTokenText() => FirstToken(_textTurns, []);

    /// <summary>As above plus decode, pre-process (2x2 crops + base) and vision for a 1280x720 screenshot.</summary>
    [Benchmark(Description = "TTFT, 1280x720 image + text")]
    public int TimeToFirstTokenImage() => FirstToken(_imageTurns, [_screenshot]);

    /// <summary>32 greedy tokens from a prefilled prompt: 31 steps + 32 samples + streaming detokenization.</summary>
    [Benchmark(Description = "Decode 32 tokens (greedy)", OperationsPerInvoke = DecodeTokens)]
    public int Decode32()
    {
        DecodeContext context = _context!;
        context.Rewind(_promptLength);
        // The steps overwrite the logits in place; restore the prefill's so every invocation decodes the same ids.
        _prefillLogits.CopyTo(context.CurrentLogits);
        var loop = new GenerationLoop(context, new Detokenizer(_model.Tokenizer.CreateStreamingDecoder()), _greedy, [], 0);
        int last = -1;
        while (loop.MoveNext(CancellationToken.None, out int id, out _))
        {
            last = id;
        }

        return last;
    }

    /// <summary>
    /// One <see cref="DecodeContext.Step"/>: write id, embed run, mask[P] = 1, decoder run. Positions cycle through
    /// P..P+31 so attention length matches the runs-only case below (which stays at P).
    /// </summary>
    [Benchmark(Description = "Decode step (embed + decoder runs + host)")]
    public int DecodeStep()
    {
        DecodeContext context = _context!;
        if (context.Position >= _promptLength + StepWindow)
        {
            context.Rewind(_promptLength);
        }

        context.Step(1234);
        return context.Position;
    }

    /// <summary>The same two session runs over the same bindings, without the step's host work.</summary>
    [Benchmark(Description = "Decode step, session runs only")]
    public int DecodeStepRunsOnly()
    {
        _context!.RunStepGraphs();
        return _context.Position;
    }

    private int FirstToken(IReadOnlyList<ChatTurn> turns, IReadOnlyList<RgbImage> images)
    {
        int[] ids = _model.Engine.Tokenize(turns);
        using RequestRun run = _model.Engine.Start(ids, images, _firstToken);
        run.Loop.MoveNext(CancellationToken.None, out int id, out _);
        return id;
    }

    private sealed class Detokenizer(StreamingDecoder decoder) : ITextStream
    {
        public string Append(int tokenId) => decoder.Append(tokenId);

        public string Flush() => decoder.Flush();
    }
}

/// <summary>
/// Whether a decode step's cost depends on the KV capacity: the static attention mask is [1,capacity] wide, so
/// GQA sees total_sequence_length = capacity while it attends over the P valid positions (seqlens_k + 1).
/// </summary>
[MemoryDiagnoser]
public class EngineStepCapacityBenchmarks
{
    private MagmaModel _model = null!;
    private NativeBuffer? _embeds;
    private DecodeContext? _context;
    private int _promptLength;

    /// <summary>Cache positions beyond the prompt.</summary>
    [Params(64, 4096)]
    public int Headroom { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = MagmaModel.Load(BenchmarkAssets.PathOf("tiny-magma"));
        int[] ids = _model.Engine.Tokenize(MagmaPrompts.Conversation("What is shown on the screen? Answer briefly."));
        _embeds = _model.Engine.BuildEmbeddings(ids, [], out _promptLength, out _);
        _context = _model.Engine.Sessions.BeginDecode(_promptLength + Headroom);
        _context.Prefill(_embeds, _promptLength);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _context?.Dispose();
        _embeds?.Dispose();
        _model.Dispose();
    }

    /// <summary>One step at positions P..P+31 of a cache with <see cref="Headroom"/> free positions.</summary>
    [Benchmark(Description = "Decode step vs KV capacity")]
    public int DecodeStep()
    {
        DecodeContext context = _context!;
        if (context.Position >= _promptLength + 32)
        {
            context.Rewind(_promptLength);
        }

        context.Step(1234);
        return context.Position;
    }
}
