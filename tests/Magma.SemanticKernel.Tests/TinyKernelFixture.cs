using Magma.Inference;
using Magma.Inference.Imaging;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Magma.SemanticKernel.Tests;

/// <summary>A real Kernel with Magma registered over the committed tiny package (tests/assets/tiny-magma).</summary>
public sealed class TinyKernelFixture : IDisposable
{
    public static string PackageDirectory => Path.Combine(AppContext.BaseDirectory, "tiny-magma");

    public static MagmaModelOptions ModelOptions { get; } = new() { IntraOpThreads = 1 };

    public TinyKernelFixture()
    {
        Kernel = Kernel.CreateBuilder()
            .AddMagmaChatCompletion(PackageDirectory, ModelOptions)
            .AddMagmaVisionPlugin()
            .Build();
        Chat = Kernel.GetRequiredService<IChatCompletionService>();
        Client = Kernel.Services.GetRequiredService<IChatClient>();
        Model = Kernel.Services.GetRequiredService<MagmaModel>();
        Directory.CreateDirectory(TempDirectory);
    }

    public Kernel Kernel { get; }

    public IChatCompletionService Chat { get; }

    public IChatClient Client { get; }

    internal MagmaModel Model { get; }

    public string TempDirectory { get; } = Path.Combine(Path.GetTempPath(), "magma-sk-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        (Kernel.Services as IDisposable)?.Dispose();
        Directory.Delete(TempDirectory, recursive: true);
    }

    /// <summary>A deterministic test picture; different seeds give clearly different pixels.</summary>
    public static RgbImage Picture(int seed, int width = 96, int height = 64)
    {
        byte[] rgb = new byte[width * height * 3];
        var random = new Random(seed);
        random.NextBytes(rgb);
        return RgbImage.FromPixels(width, height, rgb);
    }

    public string SaveToFile(RgbImage image, string name)
    {
        string path = Path.Combine(TempDirectory, name);
        File.WriteAllBytes(path, image.EncodePng());
        return path;
    }
}

[CollectionDefinition(Name)]
public sealed class TinyKernelGroup : ICollectionFixture<TinyKernelFixture>
{
    public const string Name = "tiny-magma kernel";
}
