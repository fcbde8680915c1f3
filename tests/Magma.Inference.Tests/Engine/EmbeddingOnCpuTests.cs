using System.Text.Json;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;
using Magma.Inference.Package;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// <see cref="MagmaModelOptions.EmbeddingOnCpu"/>: the embed graph on the CPU provider, its rows copied into the buffers the
/// decoder reads (one per step, one per batch row). On the CPU device the copy is a memcpy where CUDA makes a cudaMemcpy,
/// but the bindings and the order of the copies are the same code: a row not copied, copied late or copied from the wrong
/// place changes the tokens.
/// </summary>
public sealed class EmbeddingOnCpuTests
{
    private static readonly MagmaModelOptions InGraph = new() { IntraOpThreads = 1 };
    private static readonly MagmaModelOptions OnCpu = new() { IntraOpThreads = 1, EmbeddingOnCpu = true };

    [Fact]
    public void By_default_the_table_stays_on_the_host_for_quantized_packages_on_cuda_only()
    {
        var int4 = new WeightQuantization { Method = "MatMulNBits", Bits = 4, BlockSize = 32, Symmetric = true, LmHead = "int8", Embed = "int8" };
        var cuda = new MagmaModelOptions { Device = MagmaDevice.Cuda };
        Assert.True(cuda.ResolveEmbeddingOnCpu(int4));
        Assert.False(cuda.ResolveEmbeddingOnCpu(null));
        Assert.False(new MagmaModelOptions().ResolveEmbeddingOnCpu(int4));
        Assert.False(new MagmaModelOptions { Device = MagmaDevice.Cuda, EmbeddingOnCpu = false }.ResolveEmbeddingOnCpu(int4));
        Assert.True(new MagmaModelOptions { Device = MagmaDevice.Cuda, EmbeddingOnCpu = true }.ResolveEmbeddingOnCpu(null));
        Assert.True(new MagmaModelOptions { EmbeddingOnCpu = true }.ResolveEmbeddingOnCpu(null));
    }

    [Fact]
    public void The_int4_package_on_the_cpu_keeps_its_table_in_the_graph_by_default()
    {
        string dir = QuantizedPackageTests.Compose(reference: false);
        try
        {
            using MagmaModel model = MagmaModel.Load(dir, InGraph);
            Assert.NotNull(model.Package.Manifest.Quantization);
            Assert.False(model.Engine.Sessions.HostEmbedding);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_option_puts_the_embed_graph_on_the_host()
    {
        using MagmaModel model = TinyMagma.Load(OnCpu);
        using MagmaModel plain = TinyMagma.Load(InGraph);

        Assert.True(model.Engine.Sessions.HostEmbedding);
        Assert.False(plain.Engine.Sessions.HostEmbedding);
    }

    [Theory]
    [InlineData("text_only")]
    [InlineData("one_image")]
    [InlineData("two_images")]
    public async Task Greedy_and_sampled_tokens_and_first_logits_equal_the_in_graph_table(string name)
    {
        using JsonDocument index = TinyMagma.Index();
        JsonElement prompt = index.RootElement.GetProperty("prompts").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);
        int[] ids = TinyMagma.Ints(prompt.GetProperty("input_ids"));
        RgbImage[] images = [.. prompt.GetProperty("images").EnumerateArray().Select(n => TinyMagma.Image(index.RootElement, n.GetString()!))];
        using MagmaModel plain = TinyMagma.Load(InGraph);
        using MagmaModel host = TinyMagma.Load(OnCpu);

        await AssertSameAnswers(plain, host, ids, images);
    }

    [Fact]
    public async Task The_int4_package_answers_alike_with_its_table_on_the_cpu()
    {
        string dir = QuantizedPackageTests.Compose(reference: false);
        try
        {
            using JsonDocument index = TinyMagma.Index();
            JsonElement prompt = index.RootElement.GetProperty("prompts").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "one_image");
            using MagmaModel plain = MagmaModel.Load(dir, InGraph);
            using MagmaModel host = MagmaModel.Load(dir, OnCpu);

            await AssertSameAnswers(plain, host, TinyMagma.Ints(prompt.GetProperty("input_ids")), [TinyMagma.Image(index.RootElement, "screen_1280x720")]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Batched_requests_decode_what_the_in_graph_table_decodes_alone()
    {
        // Batch steps copy every row of the host table's output, then the queued prompt rows over it: both orders matter.
        using MagmaModel plain = TinyMagma.Load(InGraph);
        using MagmaModel host = TinyMagma.Load(OnCpu);
        MagmaRequest[] requests = [.. BatchedPrefillTests.Mix(host.UseImageStartEnd).Select(r => new MagmaRequest
        {
            Turns = r.Turns, Images = r.Images, Options = new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [] },
        })];

        IReadOnlyList<MagmaResponse> batch = await host.GenerateBatchAsync(requests);

        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal((await plain.GenerateAsync(requests[i])).TokenIds, batch[i].TokenIds);
        }
    }

    private static async Task AssertSameAnswers(MagmaModel plain, MagmaModel host, int[] ids, RgbImage[] images)
    {
        Assert.Equal(FirstLogits(plain, ids, images), FirstLogits(host, ids, images));
        // Greedy: the graph's own choice feeds the next step (the host table reads it back); sampled: the host's choice.
        var greedy = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [] };
        var sampled = new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [], DoSample = true, Temperature = 1.5f, Seed = 3 };
        foreach (GenerationOptions options in new[] { greedy, sampled })
        {
            MagmaResponse expected = await plain.RunAsync(ids, images, options, CancellationToken.None);
            MagmaResponse actual = await host.RunAsync(ids, images, options, CancellationToken.None);
            Assert.Equal(10, expected.TokenIds.Count);
            Assert.Equal(expected.TokenIds, actual.TokenIds);
        }
    }

    private static float[] FirstLogits(MagmaModel model, int[] ids, RgbImage[] images)
    {
        using NativeBuffer merged = model.Engine.BuildEmbeddings(ids, images, out int length, out _);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(length + 2);
        context.Prefill(merged, length);
        // One step as well: the step path is where the host table's row is copied.
        context.Step(context.SelectedToken);
        return context.CurrentLogits.ToArray();
    }
}
