using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// Batched vision and prefill (<see cref="BatchRunner"/>): crops of several images in one vision run, several prompts
/// in one decoder run, each row's first-token logits and KV cache as when it runs alone (the parity tolerance of
/// <see cref="ParityTests"/>), and the same greedy tokens.
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class BatchedPrefillTests(TinyMagmaFixture fixture)
{
    private const double Tolerance = 1e-4;
    private readonly MagmaModel _model = fixture.Model;

    private MagmaEngine Engine => _model.Engine;

    [Fact]
    public void Crops_of_several_images_share_vision_runs_and_split_back_per_image()
    {
        using var index = TinyMagma.Index();
        // 1, 2, 2 and 4 crops
        RgbImage[] images = [.. new[] { "square_256x256", "tall_400x900", "wide_900x400", "screen_1280x720" }.Select(n => TinyMagma.Image(index.RootElement, n))];
        byte[][] alone = [.. images.Select(i => Engine.EncodeImage(i, out _))];

        long runs = Engine.Sessions.VisionRuns;
        byte[][] together = Engine.EncodeImages(images, maxCropsPerRun: 16);
        Assert.Equal(1, Engine.Sessions.VisionRuns - runs);
        AssertSameBlocks(alone, together);

        // At most 3 crops a run: [1 + 2], [2], then the 4-crop image alone, split 3 + 1.
        runs = Engine.Sessions.VisionRuns;
        byte[][] bounded = Engine.EncodeImages(images, maxCropsPerRun: 3);
        Assert.Equal(4, Engine.Sessions.VisionRuns - runs);
        AssertSameBlocks(alone, bounded);
    }

    [Fact]
    public void Prompts_prefilled_together_have_the_first_logits_and_cache_they_have_alone()
    {
        BatchEntry[] entries = [.. Mix(_model.UseImageStartEnd).Select(r => new BatchEntry(Engine.Tokenize(r.Turns), r.Images, new GenerationOptions
        {
            MaxNewTokens = 1, StopTokenIds = [], LogitsProcessors = [new FirstLogits()],
        }))];
        using var runner = new BatchRunner(Engine, entries.Length, Engine.MaxSequence, maxCropsPerVisionRun: 16, maxPrefillPositions: 8192);
        long visionRuns = Engine.Sessions.VisionRuns;
        runner.Admit(entries);
        Assert.All(entries, e => Assert.Null(e.Error));
        Assert.Equal(1, Engine.Sessions.VisionRuns - visionRuns); // 1 + 2 + 2 + 4 + 2 crops in one run
        Assert.InRange(runner.PrefillRuns, 2, entries.Length - 2); // similar lengths share runs, very different ones do not
        int[] slots = [.. entries.Select(e => e.Slot)];
        BatchDecodeContext batch = runner.Context!;
        runner.Step(); // the joining step: every row's last prompt position, and its first token
        Assert.All(entries, e => Assert.Equal(FinishReason.MaxTokens, e.Finish));

        int layers = Engine.Sessions.Manifest.Decoder.NumLayers;
        for (int i = 0; i < entries.Length; i++)
        {
            BatchEntry e = entries[i];
            using NativeBuffer merged = Engine.BuildEmbeddings(e.PromptIds, e.Images, out int length, out _);
            Assert.Equal(length, e.PromptTokens);
            using DecodeContext alone = Engine.Sessions.BeginDecode(length + 1);
            alone.Prefill(merged, length);

            float[] batched = ((FirstLogits)e.Options.LogitsProcessors[0]).Row;
            double logitsErr = TinyMagma.RelativeError(batched, alone.CurrentLogits);
            Assert.True(logitsErr < Tolerance, $"row {i} ({length} positions): first logits differ by {logitsErr:E2}");
            Assert.Equal(Argmax(alone.CurrentLogits), e.Generated[0]);

            for (int b = 0; b < layers * 2; b++)
            {
                float[] expected = Slot(alone.Cache.SharedValue(b / 2, value: b % 2 == 1).GetTensorDataAsSpan<float>(), length, alone.Capacity);
                double kvErr = TinyMagma.RelativeError(batch.ReadKv(b, slots[i], length), expected);
                Assert.True(kvErr < Tolerance, $"row {i} ({length} positions), KV buffer {b}: differs by {kvErr:E2}");
            }
        }
    }

    [Fact]
    public async Task Rows_of_very_different_lengths_images_and_text_decode_the_greedy_tokens_they_decode_alone()
    {
        MagmaRequest[] requests = [.. Mix(_model.UseImageStartEnd).Select(r => new MagmaRequest { Turns = r.Turns, Images = r.Images, Options = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [] } })];
        IReadOnlyList<MagmaResponse> batch = await _model.GenerateBatchAsync(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            MagmaResponse alone = await _model.GenerateAsync(requests[i]);
            Assert.Equal(alone.TokenIds, batch[i].TokenIds);
            Assert.Equal(alone.Usage, batch[i].Usage);
            Assert.Equal(alone.FinishReason, batch[i].FinishReason);
        }
    }

    [Fact]
    public async Task A_small_prefill_budget_splits_the_prompts_and_changes_no_token()
    {
        using MagmaModel small = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, MaxBatchPrefillPositions = 64, MaxVisionCropsPerRun = 1 });
        MagmaRequest[] requests = [.. Mix(_model.UseImageStartEnd).Take(4).Select(r => new MagmaRequest { Turns = r.Turns, Images = r.Images, Options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] } })];
        IReadOnlyList<MagmaResponse> batch = await small.GenerateBatchAsync(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal((await _model.GenerateAsync(requests[i])).TokenIds, batch[i].TokenIds);
        }
    }

    /// <summary>Text-only rows of 20 to 400 positions, and images of 1, 2 and 4 crops, one request with two images.</summary>
    internal static MagmaRequest[] Mix(bool startEnd)
    {
        using var index = TinyMagma.Index();
        RgbImage Img(string name) => TinyMagma.Image(index.RootElement, name);
        string longText = string.Concat(Enumerable.Repeat("The robot arm moves the red block next to the blue bowl. ", 30));
        return
        [
            new() { Turns = MagmaPrompts.Conversation("Hi.") },
            new() { Turns = MagmaPrompts.Conversation(longText) },
            new() { Turns = MagmaPrompts.Conversation("What is two plus two?") },
            new() { Images = [Img("square_256x256")], Turns = MagmaPrompts.Conversation(MagmaPrompts.RobotAction("open the drawer", startEnd)) },
            new() { Images = [Img("tall_400x900")], Turns = MagmaPrompts.Conversation(MagmaPrompts.VisualQuestion("What is in the picture?", startEnd)) },
            new() { Images = [Img("screen_1280x720")], Turns = MagmaPrompts.Conversation(MagmaPrompts.UiClick("Click the search button.", startEnd)) },
            new()
            {
                Images = [Img("tall_400x900"), Img("wide_900x400")],
                Turns = MagmaPrompts.Conversation(MagmaPrompts.Image(startEnd) + "and" + MagmaPrompts.Image(startEnd) + "Compare the two images."),
            },
        ];
    }

    private static void AssertSameBlocks(byte[][] expected, byte[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            double err = TinyMagma.RelativeError(
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(actual[i]), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(expected[i]));
            Assert.True(err < Tolerance, $"image {i}: embeddings differ by {err:E2}");
        }
    }

    /// <summary>[KV, length, D] of a [1, KV, capacity, D] cache.</summary>
    private float[] Slot(ReadOnlySpan<float> cache, int length, int capacity)
    {
        int kv = Engine.Sessions.Manifest.Decoder.NumKeyValueHeads;
        int d = Engine.Sessions.Manifest.Decoder.HeadDim;
        var result = new float[kv * length * d];
        for (int h = 0; h < kv; h++)
        {
            cache.Slice(h * capacity * d, length * d).CopyTo(result.AsSpan(h * length * d));
        }

        return result;
    }

    private static int Argmax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    /// <summary>Keeps the first logits row it sees (the joining step's: the prompt's last position).</summary>
    private sealed class FirstLogits : ILogitsProcessor
    {
        public float[] Row { get; private set; } = [];

        public void Process(ReadOnlySpan<int> generated, Span<float> logits)
        {
            if (Row.Length == 0)
            {
                Row = logits.ToArray();
            }
        }
    }
}
