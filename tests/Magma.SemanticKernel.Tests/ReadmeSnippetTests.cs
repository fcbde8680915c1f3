using System.Runtime.CompilerServices;
using System.Text;
using Magma.Inference;
using Magma.SemanticKernel;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Magma.SemanticKernel.Tests;

/// <summary>
/// The README's "Semantic Kernel and Microsoft.Extensions.AI" snippet, compiled and run here on the tiny package. The
/// second test checks that the README block and <see cref="Snippet"/> are the same code (paths and device aside).
/// </summary>
public sealed class ReadmeSnippetTests
{
    [Fact]
    public async Task The_readme_snippet_runs_on_the_tiny_package()
    {
        string dir = Path.Combine(Path.GetTempPath(), "magma-readme-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string screen = Path.Combine(dir, "screen.png");
            string photo = Path.Combine(dir, "photo.jpg");
            await File.WriteAllBytesAsync(screen, TinyKernelFixture.Picture(41).EncodePng());
            await File.WriteAllBytesAsync(photo, TinyKernelFixture.Picture(42).EncodeJpeg());

            (string streamed, ChatResponse answer) = await Snippet(TinyKernelFixture.PackageDirectory, screen, photo, MagmaDevice.Cpu);

            Assert.False(string.IsNullOrEmpty(streamed));
            Assert.False(string.IsNullOrEmpty(answer.Text));
            Assert.InRange(answer.Usage!.OutputTokenCount!.Value, 1, 128);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_readme_block_is_the_code_of_this_test()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        int section = readme.IndexOf("## Semantic Kernel and Microsoft.Extensions.AI", StringComparison.Ordinal);
        Assert.True(section >= 0, "README lost its Semantic Kernel section");
        int start = readme.IndexOf("```csharp", section, StringComparison.Ordinal) + "```csharp".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        string[] block = Lines(readme[start..end]
            .Replace("\"/models/magma-8b-onnx-fp16\"", "modelPath", StringComparison.Ordinal)
            .Replace("\"screen.png\"", "screenPath", StringComparison.Ordinal)
            .Replace("\"photo.jpg\"", "photoPath", StringComparison.Ordinal)
            .Replace("MagmaDevice.Cuda", "device", StringComparison.Ordinal)
            .Replace("Console.Write(chunk.Content)", "output.Append(chunk.Content)", StringComparison.Ordinal));
        string source = File.ReadAllText(ThisFile());
        int body = source.LastIndexOf("// --- README snippet ---", StringComparison.Ordinal); // the last one: the first is this literal
        string[] code = Lines(source[body..source.IndexOf("// --- end ---", body, StringComparison.Ordinal)]);

        int at = 0;
        foreach (string line in block.Where(l => !l.StartsWith("using ", StringComparison.Ordinal)))
        {
            at = Array.IndexOf(code, line, at);
            Assert.True(at >= 0, $"README line not in the tested snippet (or out of order): {line}");
        }

        Assert.All(block.Where(l => l.StartsWith("using ", StringComparison.Ordinal)), u => Assert.Contains(u, source, StringComparison.Ordinal));
    }

    private static async Task<(string Streamed, ChatResponse Answer)> Snippet(string modelPath, string screenPath, string photoPath, MagmaDevice device)
    {
        var output = new StringBuilder();
        // --- README snippet ---
        // Semantic Kernel: one call registers the model (loaded once, disposed with the kernel's services),
        // an IChatClient and the IChatCompletionService; AddMagmaVisionPlugin adds Magma's tools for a planner model.
        Kernel kernel = Kernel.CreateBuilder()
            .AddMagmaChatCompletion(modelPath, new MagmaModelOptions { Device = device })
            .Build();
        var history = new ChatHistory();
        history.AddUserMessage([new ImageContent(File.ReadAllBytes(screenPath), "image/png"), new Microsoft.SemanticKernel.TextContent("What is on the screen?")]);
        var chat = kernel.GetRequiredService<IChatCompletionService>();
        await foreach (var chunk in chat.GetStreamingChatMessageContentsAsync(history, new MagmaPromptExecutionSettings { MaxTokens = 256 }, kernel))
            output.Append(chunk.Content);

        // Microsoft.Extensions.AI: the client directly (or services.AddMagmaChatClient(path).UseOpenTelemetry().UseLogging() for DI).
        using IChatClient client = MagmaChatClient.Load(modelPath);
        ChatResponse answer = await client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new DataContent(File.ReadAllBytes(photoPath), "image/jpeg"), new Microsoft.Extensions.AI.TextContent("Describe it.")])],
            new ChatOptions { Temperature = 0.7f, Seed = 1, MaxOutputTokens = 128 });
        // --- end ---
        (kernel.Services as IDisposable)?.Dispose();
        return (output.ToString(), answer);
    }

    private static string[] Lines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private static string ThisFile([CallerFilePath] string path = "") => path;

    private static string RepoRoot() => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", ".."));
}
