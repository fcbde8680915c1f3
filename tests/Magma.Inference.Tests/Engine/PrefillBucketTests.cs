using Magma.Inference.Generation;
using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// Padded prefills (<see cref="PrefillBuckets"/>, <see cref="PrefillBucketing"/>): a prompt's first length-1 positions
/// right-padded to a few widths and its last position run as a decode step give the first logits, KV cache, device
/// choice and greedy tokens of the exact prefill (the parity tolerance of <see cref="ParityTests"/>).
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class PrefillBucketTests(TinyMagmaFixture fixture, PrefillBucketTests.Models models) : IClassFixture<PrefillBucketTests.Models>
{
    private const double Tolerance = 1e-4;
    private readonly MagmaModel _model = fixture.Model;

    [Fact]
    public void Widths_round_up_in_steps_of_64_128_and_256_and_stop_at_the_limit()
    {
        Assert.Equal([64, 64, 128, 320, 1024, 1152, 2048, 2304, 4352, 4352], new[] { 1, 64, 65, 290, 1024, 1025, 2048, 2049, 4300, 4352 }.Select(p => PrefillBuckets.Width(p, 4352)));
        Assert.Equal(4000, PrefillBuckets.Width(3990, 4000));
        int[] sizes = [.. PrefillBuckets.Sizes(4352)];
        Assert.Equal(16 + 8 + 9, sizes.Length);
        Assert.Equal(4352, sizes[^1]);
        Assert.All(Enumerable.Range(1, 4352), p => Assert.Contains(PrefillBuckets.Width(p, 4352), sizes));
        Assert.Equal([64, 100], PrefillBuckets.Sizes(100));
    }

    [Fact]
    public void Cuda_pads_new_lengths_by_default_the_cpu_pads_nothing_and_an_explicit_choice_wins()
    {
        Assert.Equal(PrefillBucketing.NewLengths, new MagmaModelOptions { Device = MagmaDevice.Cuda }.EffectivePrefillBuckets);
        Assert.Equal(PrefillBucketing.Off, new MagmaModelOptions().EffectivePrefillBuckets);
        Assert.Equal(PrefillBucketing.Off, new MagmaModelOptions { Device = MagmaDevice.Cuda, PrefillBuckets = PrefillBucketing.Off }.EffectivePrefillBuckets);
        Assert.Equal(PrefillBucketing.Always, new MagmaModelOptions { Device = MagmaDevice.Cuda, PrefillBuckets = PrefillBucketing.Always }.EffectivePrefillBuckets);
        Assert.Equal(PrefillBucketing.NewLengths, new MagmaModelOptions { PrefillBuckets = PrefillBucketing.NewLengths }.EffectivePrefillBuckets);

        // The engine takes the resolved choice: the CPU default pads nothing, an explicit NewLengths pads a new length.
        Assert.Equal(PrefillBucketing.Off, _model.Engine.Bucketing);
        Assert.Equal(PrefillBucketing.NewLengths, models.NewLengths.Engine.Bucketing);
        Assert.Equal(0, _model.Engine.PrefillWidth(300));
    }

    [Fact]
    public void Padded_prefills_have_the_logits_cache_choice_and_later_steps_of_the_exact_one()
    {
        MagmaEngine engine = _model.Engine;
        foreach (MagmaRequest r in BatchedPrefillTests.Mix(_model.UseImageStartEnd))
        {
            int[] ids = engine.Tokenize(r.Turns);
            int length = engine.CheckPrompt(ids, r.Images, out _);
            int bucket = PrefillBuckets.Width(length - 1, engine.MaxSequence);
            using NativeBuffer embeds = engine.BuildEmbeddings(ids, r.Images, out _, out _, rows: length + 80);

            // The bucket's width, no padding at all (width = length - 1), and more padding than a bucket adds.
            foreach (int width in new[] { bucket, length - 1, length + 80 })
            {
                using DecodeContext exact = engine.Sessions.BeginDecode(length + 90);
                exact.Prefill(embeds, length);
                Assert.Equal(0, exact.PaddedPrefills);
                using DecodeContext padded = engine.Sessions.BeginDecode(length + 90);
                padded.Prefill(embeds, length, width);
                string what = $"{length} positions at width {width}";
                Assert.Equal((length, 1), (padded.Position, padded.PaddedPrefills));
                AssertClose(exact.CurrentLogits, padded.CurrentLogits, what + ": first logits");
                Assert.Equal(exact.SelectedToken, padded.SelectedToken);
                for (int b = 0; b < engine.Sessions.Manifest.Decoder.NumLayers * 2; b++)
                {
                    AssertClose(Slot(exact, b, length), Slot(padded, b, length), $"{what}: KV buffer {b}");
                }

                // The padding's keys past the prompt are masked, then overwritten: later steps agree too.
                for (int step = 0; step < 4; step++)
                {
                    int token = exact.SelectedToken;
                    exact.Step(token);
                    padded.Step(token);
                    AssertClose(exact.CurrentLogits, padded.CurrentLogits, $"{what}: logits after step {step + 1}");
                }
            }
        }
    }

    [Fact]
    public async Task Greedy_and_constrained_tokens_are_those_of_exact_prefills()
    {
        var action = new ActionTokenConstraint(128000, 128009);
        foreach (MagmaRequest r in BatchedPrefillTests.Mix(_model.UseImageStartEnd))
        {
            foreach (GenerationOptions options in new[]
            {
                new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [] },
                new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action] },
                new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [], DoSample = true, Seed = 3, Temperature = 0.7f },
            })
            {
                var request = new MagmaRequest { Turns = r.Turns, Images = r.Images, Options = options };
                MagmaResponse exact = await _model.GenerateAsync(request);
                MagmaResponse padded = await models.Always.GenerateAsync(request);
                Assert.Equal(exact.TokenIds, padded.TokenIds);
                Assert.Equal(exact.Usage, padded.Usage);
                Assert.Equal(exact.FinishReason, padded.FinishReason);
            }
        }

        int[] hi = models.Always.Engine.Tokenize(Inference.Text.MagmaPrompts.Conversation("Hi."));
        using RequestRun run = models.Always.Engine.Start(hi, [], GenerationOptions.Greedy);
        Assert.Equal(1, run.Context.PaddedPrefills);
    }

    [Fact]
    public void A_new_length_runs_padded_and_a_repeated_one_exactly()
    {
        MagmaEngine engine = models.NewLengths.Engine;
        Assert.Equal(PrefillBucketing.NewLengths, engine.Bucketing);
        var options = new GenerationOptions { MaxNewTokens = 5, StopTokenIds = [] };
        (int Padded, List<int> Tokens) Run(string question)
        {
            using RequestRun run = engine.Start(engine.Tokenize(Inference.Text.MagmaPrompts.Conversation(question)), [], options);
            var tokens = new List<int>();
            while (run.MoveNext(CancellationToken.None, out int id, out _))
            {
                tokens.Add(id);
            }

            return (run.Context.PaddedPrefills, tokens);
        }

        (int padded, List<int> first) = Run("Where is the red block?");
        Assert.Equal(1, padded);
        for (int again = 0; again < 2; again++)
        {
            (int exact, List<int> tokens) = Run("Where is the red block?");
            Assert.Equal(0, exact);
            Assert.Equal(first, tokens);
        }

        Assert.Equal(1, Run("Where is the blue bowl, then?").Padded);
    }

    [Fact]
    public async Task Batched_prefills_at_rounded_widths_decode_the_tokens_of_exact_prefills()
    {
        MagmaRequest[] requests = [.. BatchedPrefillTests.Mix(_model.UseImageStartEnd).Select(r => new MagmaRequest { Turns = r.Turns, Images = r.Images, Options = new GenerationOptions { MaxNewTokens = 8, StopTokenIds = [] } })];
        IReadOnlyList<MagmaResponse> batch = await models.Always.GenerateBatchAsync(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal((await _model.GenerateAsync(requests[i])).TokenIds, batch[i].TokenIds);
        }
    }

    [Fact]
    public async Task The_warm_up_runs_every_width_once_and_leaves_requests_unchanged()
    {
        // On CUDA MagmaModel.Load calls WarmUp; on the CPU the test calls it, with a short context (widths 64..300)
        // and a warm-up limit below it (64..256).
        using MagmaModel model = TinyMagma.Load(new MagmaModelOptions
        {
            IntraOpThreads = 1, PrefillBuckets = PrefillBucketing.Always, MaxSequenceLength = 300, WarmPrefillUpTo = 256,
        });
        model.Engine.WarmUp();
        Assert.Contains(model.Engine.Load.Stages, s => s.Name == "warm-up prefill widths (4, up to 256)");
        var request = new MagmaRequest { Turns = Inference.Text.MagmaPrompts.Conversation("What is two plus two?"), Options = new GenerationOptions { MaxNewTokens = 8, StopTokenIds = [] } };
        Assert.Equal((await _model.GenerateAsync(request)).TokenIds, (await model.GenerateAsync(request)).TokenIds);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        double err = TinyMagma.RelativeError(actual, expected);
        Assert.True(err < Tolerance, $"{what} differ by {err:E2}");
    }

    /// <summary>[KV, length, D] of one shared K/V buffer ([1, KV, capacity, D]).</summary>
    private float[] Slot(DecodeContext context, int buffer, int length)
    {
        Inference.Package.DecoderManifest d = _model.Engine.Sessions.Manifest.Decoder;
        ReadOnlySpan<float> cache = context.Cache.SharedValue(buffer / 2, value: buffer % 2 == 1).GetTensorDataAsSpan<float>();
        var result = new float[d.NumKeyValueHeads * length * d.HeadDim];
        for (int h = 0; h < d.NumKeyValueHeads; h++)
        {
            cache.Slice(h * context.Capacity * d.HeadDim, length * d.HeadDim).CopyTo(result.AsSpan(h * length * d.HeadDim));
        }

        return result;
    }

    /// <summary>The tiny model loaded twice more: every prompt padded, and new lengths only.</summary>
    public sealed class Models : IDisposable
    {
        public Models()
        {
            Always = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, PrefillBuckets = PrefillBucketing.Always });
            NewLengths = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, PrefillBuckets = PrefillBucketing.NewLengths });
        }

        internal MagmaModel Always { get; }

        internal MagmaModel NewLengths { get; }

        public void Dispose()
        {
            Always.Dispose();
            NewLengths.Dispose();
        }
    }
}
