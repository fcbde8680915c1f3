namespace Magma.Benchmarks;

internal static class BenchmarkAssets
{
    public static string PathOf(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "assets", .. parts]);

    public static string EnglishText() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "english.txt"));

    /// <summary>A deterministic RGB screenshot-like image: gradient plus hashed noise.</summary>
    public static byte[] Screenshot(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                uint h = unchecked(((uint)x * 73856093u) ^ ((uint)y * 19349663u));
                h ^= h >> 13;
                int i = (y * width + x) * 3;
                rgb[i] = (byte)(x * 256 / width);
                rgb[i + 1] = (byte)(y * 256 / height);
                rgb[i + 2] = (byte)h;
            }
        }
        return rgb;
    }
}
