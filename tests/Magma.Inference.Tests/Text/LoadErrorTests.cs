using Magma.Inference.Text;
using Xunit;

namespace Magma.Inference.Tests.Text;

public sealed class LoadErrorTests
{
    private static string CopyAssets()
    {
        string dir = TempDir.Create();
        foreach (string name in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(TokenizerFixture.Directory, name), Path.Combine(dir, name));
        }

        return dir;
    }

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    public void Missing_file_names_the_file(string name)
    {
        string dir = CopyAssets();
        File.Delete(Path.Combine(dir, name));
        var ex = Assert.Throws<MagmaPackageException>(() => MagmaTokenizer.Load(dir));
        Assert.Contains(Path.Combine(dir, name), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tokenizer.json")]
    [InlineData("tokenizer_config.json")]
    public void Malformed_json_names_the_file(string name)
    {
        string dir = CopyAssets();
        File.WriteAllText(Path.Combine(dir, name), "{ \"model\": ");
        var ex = Assert.Throws<MagmaPackageException>(() => MagmaTokenizer.Load(dir));
        Assert.Contains(Path.Combine(dir, name), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model": {"type": "BPE", "ignore_merges": true}}""", "pre_tokenizer")]
    [InlineData("""{"model": {"type": "Unigram"}}""", "model.type")]
    [InlineData("""{"model": {"type": "BPE"}}""", "model.ignore_merges")]
    [InlineData("""{"added_tokens": []}""", "model")]
    public void Malformed_tokenizer_json_names_the_field(string json, string field)
    {
        string dir = CopyAssets();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json);
        var ex = Assert.Throws<MagmaPackageException>(() => MagmaTokenizer.Load(dir));
        Assert.Contains("tokenizer.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Vocab_token_outside_the_byte_level_alphabet_names_the_field()
    {
        string dir = CopyAssets();
        string path = Path.Combine(dir, "tokenizer.json");
        string json = File.ReadAllText(path);
        int vocab = json.IndexOf("\"vocab\": {", StringComparison.Ordinal);
        Assert.True(vocab >= 0);
        File.WriteAllText(path, json.Insert(vocab + "\"vocab\": {".Length, "\"snow\u2603\": 5, "));
        var ex = Assert.Throws<MagmaPackageException>(() => MagmaTokenizer.Load(dir));
        Assert.Contains("'model.vocab[\"snow\u2603\"]'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"eos_token": "<|eot_id|>", "pad_token": "<pad>"}""", "bos_token")]
    [InlineData("""{"bos_token": "<|begin_of_text|>", "eos_token": "<nope>", "pad_token": "<pad>"}""", "eos_token")]
    [InlineData("""{"bos_token": {"content": "<|begin_of_text|>"}, "eos_token": "<|eot_id|>"}""", "pad_token")]
    public void Malformed_config_names_the_field(string json, string field)
    {
        string dir = CopyAssets();
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), json);
        var ex = Assert.Throws<MagmaPackageException>(() => MagmaTokenizer.Load(dir));
        Assert.Contains("tokenizer_config.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }
}
