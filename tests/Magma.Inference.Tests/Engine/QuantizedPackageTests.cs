using System.Text.Json;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// The tiny package with its decoder layers quantized to 4 bits by tools/export/quantize_package.py (MatMulNBits,
/// blocks of 32, symmetric, accuracy_level 4; LM head and embedding left in fp32 so the fixture reuses the float
/// package's text.data). Its reference, <c>decoder.dequantized.onnx</c>, is the same graph with plain MatMuls over the
/// weights dequantized in numpy by the operator's documented arithmetic: the MatMulNBits kernels must reproduce it.
/// </summary>
public sealed class QuantizedPackageTests : IDisposable
{
    // Against the dequantized fp32 reference only the int8 activations of accuracy_level 4 differ (measured 2026-12-03:
    // see the README of tests/assets/tiny-magma-int4); a wrong nibble order, scale or block layout is off by the size
    // of the logits themselves.
    private const double MaxKernelError = 0.05;

    // Against PyTorch fp32: 4-bit random weights (about 9 % reconstruction error per matrix) move the tiny model's
    // first logits by 14-39 % of their largest magnitude; equal logits would mean the decoder was not quantized.
    private const double MaxQuantizationError = 0.6;
    private const double MinQuantizationError = 1e-2;

    private readonly string _dir = Compose(reference: false);
    private readonly string _referenceDir = Compose(reference: true);
    private readonly MagmaModel _model;
    private readonly MagmaModel _reference;

    public QuantizedPackageTests()
    {
        _model = MagmaModel.Load(_dir, new MagmaModelOptions { IntraOpThreads = 1 });
        _reference = MagmaModel.Load(_referenceDir, new MagmaModelOptions { IntraOpThreads = 1 });
    }

    public void Dispose()
    {
        _model.Dispose();
        _reference.Dispose();
        Directory.Delete(_dir, recursive: true);
        Directory.Delete(_referenceDir, recursive: true);
    }

    [Fact]
    public void Manifest_describes_the_quantization()
    {
        Inference.Package.WeightQuantization? q = _model.Package.Manifest.Quantization;
        Assert.NotNull(q);
        Assert.Equal(("MatMulNBits", 4, 32, true, "float", "float"), (q.Method, q.Bits, q.BlockSize, q.Symmetric, q.LmHead, q.Embed));
        Assert.Equal("float32", _model.Package.Manifest.DType);
    }

    [Theory]
    [InlineData("text_only")]
    [InlineData("one_image")]
    [InlineData("two_images")]
    public void First_logits_match_the_dequantized_reference_and_stay_near_pytorch(string name)
    {
        using JsonDocument index = TinyMagma.Index();
        JsonElement prompt = index.RootElement.GetProperty("prompts").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);
        int[] ids = TinyMagma.Ints(prompt.GetProperty("input_ids"));
        RgbImage[] images = [.. prompt.GetProperty("images").EnumerateArray().Select(n => TinyMagma.Image(index.RootElement, n.GetString()!))];

        float[] int4 = FirstLogits(_model, ids, images);
        float[] reference = FirstLogits(_reference, ids, images);
        double kernel = TinyMagma.RelativeError(int4, reference);
        double quantization = TinyMagma.RelativeError(int4, TinyMagma.ReadFloats(prompt.GetProperty("last_logits").GetProperty("file").GetString()!));

        Assert.True(kernel < MaxKernelError, $"{name}: MatMulNBits logits differ from the dequantized reference by {kernel:E2} (max |diff| / max |ref|)");
        Assert.InRange(quantization, MinQuantizationError, MaxQuantizationError);
    }

    private static float[] FirstLogits(MagmaModel model, int[] ids, RgbImage[] images)
    {
        using NativeBuffer merged = model.Engine.BuildEmbeddings(ids, images, out int length, out _);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(length + 1);
        context.Prefill(merged, length);
        return context.CurrentLogits.ToArray();
    }

    [Fact]
    public void Padded_prefills_have_the_first_logits_and_cache_of_exact_ones()
    {
        // MatMulNBits (int8 activations of accuracy_level 4) over a right-padded prompt whose last position runs as a step.
        MagmaEngine engine = _model.Engine;
        Inference.Package.DecoderManifest d = engine.Sessions.Manifest.Decoder;
        foreach (MagmaRequest r in BatchedPrefillTests.Mix(_model.UseImageStartEnd))
        {
            int[] ids = engine.Tokenize(r.Turns);
            int length = engine.CheckPrompt(ids, r.Images, out _);
            int width = PrefillBuckets.Width(length - 1, engine.MaxSequence);
            using NativeBuffer embeds = engine.BuildEmbeddings(ids, r.Images, out _, out _, rows: width);
            using DecodeContext exact = engine.Sessions.BeginDecode(width + 1);
            using DecodeContext padded = engine.Sessions.BeginDecode(width + 1);
            exact.Prefill(embeds, length);
            padded.Prefill(embeds, length, width);
            double err = TinyMagma.RelativeError(padded.CurrentLogits, exact.CurrentLogits);
            Assert.True(err < 1e-4, $"{length} positions at width {width}: first logits differ by {err:E2}");
            Assert.Equal(exact.SelectedToken, padded.SelectedToken);
            for (int b = 0; b < d.NumLayers * 2; b++)
            {
                ReadOnlySpan<float> e = exact.Cache.SharedValue(b / 2, value: b % 2 == 1).GetTensorDataAsSpan<float>();
                ReadOnlySpan<float> p = padded.Cache.SharedValue(b / 2, value: b % 2 == 1).GetTensorDataAsSpan<float>();
                for (int h = 0; h < d.NumKeyValueHeads; h++)
                {
                    int at = h * exact.Capacity * d.HeadDim;
                    double kv = TinyMagma.RelativeError(p.Slice(at, length * d.HeadDim), e.Slice(at, length * d.HeadDim));
                    Assert.True(kv < 1e-4, $"{length} positions at width {width}: KV buffer {b}, head {h} differs by {kv:E2}");
                }
            }
        }
    }

    [Fact]
    public async Task Greedy_generation_runs_to_the_token_budget()
    {
        using JsonDocument index = TinyMagma.Index();
        JsonElement prompt = index.RootElement.GetProperty("prompts").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "one_image");
        MagmaResponse response = await _model.RunAsync(
            TinyMagma.Ints(prompt.GetProperty("input_ids")), [TinyMagma.Image(index.RootElement, "screen_1280x720")],
            new GenerationOptions { MaxNewTokens = 8, StopTokenIds = [] }, CancellationToken.None);

        Assert.Equal(8, response.TokenIds.Count);
        Assert.All(response.TokenIds, id => Assert.InRange(id, 0, _model.Package.Manifest.Decoder.VocabSize - 1));
    }

    [Fact]
    public async Task Batched_requests_decode_the_tokens_they_decode_alone()
    {
        // MatMulNBits over a padded [n,T] prefill and [n,1] steps: the batch machinery on 4-bit weights.
        MagmaRequest[] requests = [.. BatchedPrefillTests.Mix(_model.UseImageStartEnd).Select(r => new MagmaRequest
        {
            Turns = r.Turns, Images = r.Images, Options = new Inference.Generation.GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] },
        })];
        IReadOnlyList<MagmaResponse> batch = await _model.GenerateBatchAsync(requests);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal((await _model.GenerateAsync(requests[i])).TokenIds, batch[i].TokenIds);
        }
    }

    /// <summary>
    /// The float tiny package with the int4 fixture's decoder.onnx and magma.json laid over it, or (reference) with
    /// decoder.dequantized.onnx as its decoder.
    /// </summary>
    internal static string Compose(bool reference)
    {
        string dir = Path.Combine(Path.GetTempPath(), "magma-int4-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (string f in Directory.GetFiles(TinyMagma.Directory))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }

        string fixture = Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma-int4");
        if (reference)
        {
            File.Copy(Path.Combine(fixture, "decoder.dequantized.onnx"), Path.Combine(dir, "decoder.onnx"), overwrite: true);
        }
        else
        {
            File.Copy(Path.Combine(fixture, "decoder.onnx"), Path.Combine(dir, "decoder.onnx"), overwrite: true);
            File.Copy(Path.Combine(fixture, "magma.json"), Path.Combine(dir, "magma.json"), overwrite: true);
        }

        return dir;
    }
}
