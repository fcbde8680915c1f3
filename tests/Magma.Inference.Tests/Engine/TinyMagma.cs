using System.Text.Json;
using Magma.Inference.Imaging;

namespace Magma.Inference.Tests.Engine;

/// <summary>The committed tiny random-weight package and its PyTorch goldens (tests/assets/tiny-magma).</summary>
internal static class TinyMagma
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma");

    public static string Goldens => Path.Combine(Directory, "goldens");

    public static MagmaModel Load(MagmaModelOptions? options = null) =>
        MagmaModel.Load(Directory, options ?? new MagmaModelOptions { IntraOpThreads = 1 });

    public static JsonDocument Index() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Goldens, "index.json")));

    public static float[] ReadFloats(string file)
    {
        string path = Path.Combine(Goldens, file);
        Assert.True(File.Exists(path), $"golden file {file} is missing from {Goldens}");
        byte[] bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }

    public static RgbImage Image(JsonElement index, string name)
    {
        foreach (JsonElement image in index.GetProperty("images").EnumerateArray())
        {
            if (image.GetProperty("name").GetString() == name)
            {
                return RgbImage.Load(Path.Combine(Goldens, image.GetProperty("file").GetString()!));
            }
        }

        throw new InvalidOperationException($"image {name} not in index.json");
    }

    public static int[] Ints(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];

    /// <summary>max |a-b| relative to the largest magnitude in the golden (elementwise relative error blows up near 0).</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0;
        double scale = 1e-12;
        for (int i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }

        return maxDiff / scale;
    }
}
