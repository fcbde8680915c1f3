using System.Text.Json;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Onnx;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary>The engine against the PyTorch goldens of the tiny package: features, merge, first logits, greedy ids.</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class ParityTests(TinyMagmaFixture fixture)
{
    private const double Tolerance = 1e-4;
    private readonly MagmaModel _model = fixture.Model;

    public static TheoryData<string> Prompts()
    {
        using JsonDocument index = TinyMagma.Index();
        var data = new TheoryData<string>();
        foreach (JsonElement p in index.RootElement.GetProperty("prompts").EnumerateArray())
        {
            data.Add(p.GetProperty("name").GetString()!);
        }

        return data;
    }

    public static TheoryData<string> Images()
    {
        using JsonDocument index = TinyMagma.Index();
        var data = new TheoryData<string>();
        foreach (JsonElement p in index.RootElement.GetProperty("images").EnumerateArray())
        {
            data.Add(p.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Stitched_image_embeddings_match_pytorch(string name)
    {
        using JsonDocument index = TinyMagma.Index();
        JsonElement image = index.RootElement.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("name").GetString() == name);
        byte[] block = _model.Engine.EncodeImage(TinyMagma.Image(index.RootElement, name), out CropGrid grid);

        int[] expectedGrid = TinyMagma.Ints(image.GetProperty("grid"));
        Assert.Equal(expectedGrid, new[] { grid.Rows, grid.Cols });
        float[] expected = TinyMagma.ReadFloats(image.GetProperty("image_embeddings").GetProperty("file").GetString()!);
        float[] actual = new float[block.Length / 4];
        Buffer.BlockCopy(block, 0, actual, 0, block.Length);
        Assert.Equal(image.GetProperty("num_image_tokens").GetInt32() * 32, actual.Length);
        double err = TinyMagma.RelativeError(actual, expected);
        Assert.True(err < Tolerance, $"{name}: stitched embeddings differ by {err:E2} (relative)");
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Chat_template_and_tokenizer_reproduce_the_golden_ids(string name)
    {
        (JsonDocument index, JsonElement prompt) = Prompt(name);
        using (index)
        {
            var turns = prompt.GetProperty("messages").EnumerateArray()
                .Select(m => new ChatTurn(m.GetProperty("role").GetString() == "system" ? ChatRole.System : ChatRole.User, Text.ReferencePrompt.Content(m.GetProperty("content").GetString()!)))
                .ToList();
            Assert.Equal(TinyMagma.Ints(prompt.GetProperty("input_ids")), _model.Engine.Tokenize(turns));
        }
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Merged_embeddings_and_first_logits_match_pytorch(string name)
    {
        (JsonDocument index, JsonElement prompt) = Prompt(name);
        using (index)
        {
            int[] ids = TinyMagma.Ints(prompt.GetProperty("input_ids"));
            RgbImage[] images = [.. prompt.GetProperty("images").EnumerateArray().Select(n => TinyMagma.Image(index.RootElement, n.GetString()!))];

            using NativeBuffer merged = _model.Engine.BuildEmbeddings(ids, images, out int length, out _);
            Assert.Equal(prompt.GetProperty("merged_length").GetInt32(), length);
            float[] expectedMerged = TinyMagma.ReadFloats(prompt.GetProperty("merged_embeddings").GetProperty("file").GetString()!);
            double mergedErr = TinyMagma.RelativeError(merged.HostSpan<float>(0, length * 32), expectedMerged);
            Assert.True(mergedErr < Tolerance, $"{name}: merged embeddings differ by {mergedErr:E2}");

            using DecodeContext context = _model.Engine.Sessions.BeginDecode(length + 1);
            context.Prefill(merged, length);
            float[] expectedLogits = TinyMagma.ReadFloats(prompt.GetProperty("last_logits").GetProperty("file").GetString()!);
            double logitsErr = TinyMagma.RelativeError(context.CurrentLogits, expectedLogits);
            Assert.True(logitsErr < Tolerance, $"{name}: first-step logits differ by {logitsErr:E2}");
        }
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public async Task Greedy_continuation_matches_pytorch_token_for_token(string name)
    {
        (JsonDocument index, JsonElement prompt) = Prompt(name);
        using (index)
        {
            int[] ids = TinyMagma.Ints(prompt.GetProperty("input_ids"));
            RgbImage[] images = [.. prompt.GetProperty("images").EnumerateArray().Select(n => TinyMagma.Image(index.RootElement, n.GetString()!))];
            JsonElement greedy = prompt.GetProperty("greedy");
            int[] expected = TinyMagma.Ints(greedy.GetProperty("ids"));

            MagmaResponse response = await _model.RunAsync(
                ids, images, new GenerationOptions { MaxNewTokens = greedy.GetProperty("max_new_tokens").GetInt32() }, CancellationToken.None);

            Assert.Equal(expected, response.TokenIds);
            Assert.Equal(prompt.GetProperty("merged_length").GetInt32(), response.Usage.PromptTokens);
        }
    }

    private static (JsonDocument, JsonElement) Prompt(string name)
    {
        JsonDocument index = TinyMagma.Index();
        JsonElement prompt = index.RootElement.GetProperty("prompts").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name);
        return (index, prompt);
    }
}
