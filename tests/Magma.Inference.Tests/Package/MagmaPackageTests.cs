using System.Text.Json.Nodes;
using Magma.Inference.Package;

namespace Magma.Inference.Tests.Package;

public sealed class MagmaPackageTests
{
    private static MagmaPackageException Fails(TempPackage p) => Assert.Throws<MagmaPackageException>(() => MagmaPackage.Open(p.Directory));

    [Fact]
    public void A_valid_package_opens_with_its_manifest()
    {
        using var p = new TempPackage();
        MagmaPackage package = MagmaPackage.Open(p.Directory);
        Assert.Equal(300, package.Manifest.Decoder.VocabSize);
        Assert.Equal("past_key_values.1.key", package.Manifest.Decoder.PastKeyName(1));
        Assert.Equal(259, package.TokenizerMaxId);
        Assert.Equal(new[] { 257 }, package.Manifest.Tokens.Eos);
    }

    [Fact]
    public void Missing_folder_is_named()
    {
        string dir = Path.Combine(Path.GetTempPath(), "no-such-magma-" + Guid.NewGuid().ToString("N"));
        MagmaPackageException ex = Assert.Throws<MagmaPackageException>(() => MagmaPackage.Open(dir));
        Assert.Contains(dir, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("magma.json")]
    [InlineData("tokenizer.json")]
    [InlineData("config.json")]
    [InlineData("decoder.onnx")]
    public void Missing_file_is_named(string file)
    {
        using var p = new TempPackage();
        File.Delete(Path.Combine(p.Directory, file));
        MagmaPackageException ex = Fails(p);
        Assert.StartsWith(file + ":", ex.Message, StringComparison.Ordinal);
        Assert.Contains("missing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_manifest_json_is_reported_as_such()
    {
        using var p = new TempPackage();
        p.Write("magma.json", "{ \"format_version\": 1, ");
        MagmaPackageException ex = Fails(p);
        Assert.StartsWith("magma.json: not valid JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_generation_config_is_named()
    {
        using var p = new TempPackage();
        p.Write("generation_config.json", "{ oops");
        Assert.StartsWith("generation_config.json: not valid JSON", Fails(p).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("decoder", "vocab_size", "'decoder.vocab_size' is missing")]
    [InlineData("vision", "crop_size", "'vision.crop_size' is missing")]
    [InlineData("tokens", "image", "'tokens.image' is missing")]
    [InlineData("embed", "output", "'embed.output' is missing")]
    public void Missing_field_is_named_with_its_path(string section, string field, string expected)
    {
        using var p = new TempPackage();
        p.Manifest[section]!.AsObject().Remove(field);
        p.Save();
        MagmaPackageException ex = Fails(p);
        Assert.StartsWith("magma.json:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Description_is_read_when_present_and_null_when_absent()
    {
        using var p = new TempPackage();
        Assert.Null(MagmaPackage.Open(p.Directory).Manifest.Description);
        p.Manifest["description"] = "Tiny model trained on synthetic pages: NOT Magma-8B.";
        p.Save();
        Assert.Equal("Tiny model trained on synthetic pages: NOT Magma-8B.", MagmaPackage.Open(p.Directory).Manifest.Description);
        p.Manifest["description"] = " ";
        p.Save();
        Assert.Contains("'description'", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_committed_tiny_packages_say_they_are_random_weights()
    {
        Assert.Contains("random-weight", MagmaPackage.Open(Engine.TinyMagma.Directory).Manifest.Description, StringComparison.Ordinal);
        // The int4 fixture holds only the quantized decoder (tests overlay it on tiny-magma): its manifest is read as JSON.
        string int4 = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma-int4", "magma.json"));
        Assert.Contains("random-weight", JsonNode.Parse(int4)!["description"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Quantization_is_read_and_absent_for_float_packages()
    {
        using var p = new TempPackage();
        Assert.Null(MagmaPackage.Open(p.Directory).Manifest.Quantization);
        p.Manifest["quantization"] = new JsonObject { ["method"] = "MatMulNBits", ["bits"] = 4, ["block_size"] = 64, ["symmetric"] = false, ["lm_head"] = "int8", ["embed"] = "int8" };
        p.Save();
        WeightQuantization q = MagmaPackage.Open(p.Directory).Manifest.Quantization!;
        Assert.Equal("int4 block 64 zero points, LM head int8, embedding int8", q.ToString());
    }

    [Theory]
    [InlineData("method", "\"GPTQ\"", "'quantization.method' is \"GPTQ\"; this engine runs \"MatMulNBits\"")]
    [InlineData("bits", "3", "'quantization.bits' is 3; expected 4")]
    [InlineData("block_size", "48", "'quantization.block_size' is 48; MatMulNBits takes a power of two from 16 to 256")]
    [InlineData("lm_head", "\"int2\"", "'quantization.lm_head' is \"int2\"")]
    public void Bad_quantization_is_named(string field, string json, string message)
    {
        using var p = new TempPackage();
        var q = new JsonObject { ["method"] = "MatMulNBits", ["bits"] = 4, ["block_size"] = 32 };
        q[field] = JsonNode.Parse(json);
        p.Manifest["quantization"] = q;
        p.Save();
        Assert.Contains(message, Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_type_is_named()
    {
        using var p = new TempPackage();
        p.Manifest["decoder"]!["num_layers"] = "two";
        p.Save();
        Assert.Contains("'decoder.num_layers' must be an integer, not \"two\"", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inconsistent_dims_are_named()
    {
        using var p = new TempPackage();
        p.Manifest["vision"]!["hidden_size"] = 64;
        p.Save();
        Assert.Contains("'vision.hidden_size' is 64 but decoder.hidden_size is 32", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_id_outside_the_vocab_is_named()
    {
        using var p = new TempPackage();
        p.Manifest["tokens"]!["eos"] = new JsonArray(257, 400);
        p.Save();
        Assert.Contains("'tokens.eos[1]' is 400, outside decoder.vocab_size 300", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_ids_that_do_not_fit_the_decoder_vocab_are_rejected()
    {
        using var p = new TempPackage();
        p.Tokenizer["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 300 });
        p.Save();
        MagmaPackageException ex = Fails(p);
        Assert.StartsWith("tokenizer.json:", ex.Message, StringComparison.Ordinal);
        Assert.Contains("token id 300", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'decoder.vocab_size' = 300", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_vocab_size_must_agree_with_the_manifest()
    {
        using var p = new TempPackage();
        p.Write("config.json", """{ "text_config": { "vocab_size": 128256 } }""");
        MagmaPackageException ex = Fails(p);
        Assert.StartsWith("config.json: field 'vocab_size' is 128256", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_format_version_is_named()
    {
        using var p = new TempPackage();
        p.Manifest["format_version"] = 2;
        p.Save();
        Assert.Contains("'format_version' is 2", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kv_name_pattern_without_placeholder_is_rejected()
    {
        using var p = new TempPackage();
        p.Manifest["decoder"]!["past_key"] = "past.key";
        p.Save();
        Assert.Contains("'decoder.past_key' is \"past.key\" but must contain {0}", Fails(p).Message, StringComparison.Ordinal);
    }
}
