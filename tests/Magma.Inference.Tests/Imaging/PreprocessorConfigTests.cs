using Magma.Inference.Imaging;
using Xunit;

namespace Magma.Inference.Tests.Imaging;

public sealed class PreprocessorConfigTests
{
    [Fact]
    public void Parses_the_released_magma_file()
    {
        const string json = """
        {
          "anyres_strategy": "crop",
          "base_img_size": 512,
          "do_convert_rgb": true,
          "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_processor_type": "MagmaImageProcessor",
          "image_std": [0.26862954, 0.26130258, 0.27577711],
          "num_crops": 4,
          "processor_class": "MagmaProcessor"
        }
        """;
        PreprocessorConfig c = PreprocessorConfig.Parse(json, "preprocessor_config.json");
        Assert.Equal(512, c.BaseImageSize);
        Assert.Equal(4, c.NumCrops);
        Assert.Equal("crop", c.AnyresStrategy);
        Assert.Equal(new[] { 0.48145466f, 0.4578275f, 0.40821073f }, c.ImageMean);
        Assert.Equal(new[] { 0.26862954f, 0.26130258f, 0.27577711f }, c.ImageStd);
    }

    [Fact]
    public void Missing_keys_take_defaults_and_present_keys_override()
    {
        PreprocessorConfig c = PreprocessorConfig.Parse("""{ "base_img_size": 768, "num_crops": 9 }""", "p.json");
        Assert.Equal(768, c.BaseImageSize);
        Assert.Equal(9, c.NumCrops);
        Assert.Equal(PreprocessorConfig.Default.ImageMean, c.ImageMean);
        Assert.Equal(PreprocessorConfig.Default.ImageStd, c.ImageStd);
        Assert.Equal("crop", PreprocessorConfig.Parse("{}", "p.json").AnyresStrategy);
    }

    [Theory]
    [InlineData("""{ "base_img_size": 500 }""", "base_img_size")]
    [InlineData("""{ "base_img_size": "512" }""", "base_img_size")]
    [InlineData("""{ "num_crops": 0 }""", "num_crops")]
    [InlineData("""{ "image_mean": [0.5, 0.5] }""", "image_mean")]
    [InlineData("""{ "image_std": [0.5, 0, 0.5] }""", "image_std")]
    [InlineData("""{ "anyres_strategy": 3 }""", "anyres_strategy")]
    public void Invalid_values_name_file_and_key(string json, string key)
    {
        var e = Assert.Throws<MagmaPackageException>(() => PreprocessorConfig.Parse(json, "models/x/preprocessor_config.json"));
        Assert.Contains("models/x/preprocessor_config.json", e.Message, StringComparison.Ordinal);
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Broken_json_and_missing_file_name_the_file()
    {
        var e = Assert.Throws<MagmaPackageException>(() => PreprocessorConfig.Parse("{ nope", "pp.json"));
        Assert.Contains("pp.json", e.Message, StringComparison.Ordinal);
        string missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "preprocessor_config.json");
        var m = Assert.Throws<MagmaPackageException>(() => PreprocessorConfig.Load(missing));
        Assert.Contains(missing, m.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reads_a_file()
    {
        string path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, """{ "num_crops": 1 }""");
        try
        {
            Assert.Equal(1, PreprocessorConfig.Load(path).NumCrops);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
