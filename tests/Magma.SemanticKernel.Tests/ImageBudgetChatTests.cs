using Magma.Inference;
using Magma.Inference.Tests.Imaging;
using Microsoft.Extensions.AI;

namespace Magma.SemanticKernel.Tests;

/// <summary>
/// The chat client budgets images from their headers before decoding them. The images here have a valid 8000x8000
/// header and no pixel data: decoded, they would be reported as truncated; refused first, they never are.
/// </summary>
[Collection(TinyKernelGroup.Name)]
public sealed class ImageBudgetChatTests(TinyKernelFixture fx)
{
    [Fact]
    public async Task Over_context_images_are_refused_before_any_is_decoded()
    {
        var contents = new List<AIContent>();
        for (int i = 0; i < 10; i++)
        {
            contents.Add(new DataContent(TestImages.PngHeaderOnly(8000, 8000), "image/png") { Name = $"bomb{i}.png" });
        }

        contents.Add(new TextContent("What are these?"));
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => fx.Client.GetResponseAsync([new ChatMessage(ChatRole.User, contents)]));
        Assert.Contains("more than the context limit of 8192", e.Message, StringComparison.Ordinal);
        Assert.Contains("image 0 (8000x8000) takes 1056 positions", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Images_over_the_pixel_budget_are_refused_before_any_is_decoded()
    {
        using var client = MagmaChatClient.Load(
            TinyKernelFixture.PackageDirectory, new MagmaModelOptions { IntraOpThreads = 1, MaxDecodedPixelsPerRequest = 100_000_000 });
        // Two fit the context (2 x 1056 positions) but not the budget (128,000,000 pixels).
        ChatMessage message = new(ChatRole.User, [
            new DataContent(TestImages.PngHeaderOnly(8000, 8000), "image/png") { Name = "a.png" },
            new DataContent(TestImages.PngHeaderOnly(8000, 8000), "image/png") { Name = "b.png" },
            new TextContent("Compare."),
        ]);
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => client.GetResponseAsync([message]));
        Assert.Contains("128000000 pixels (2 image(s))", e.Message, StringComparison.Ordinal);
        Assert.Contains("per-request budget of 100000000", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", e.Message, StringComparison.Ordinal);

        // The plugin's single image is held to the same budget.
        string file = Path.Combine(fx.TempDirectory, "huge-header.png");
        await File.WriteAllBytesAsync(file, TestImages.PngHeaderOnly(12000, 9000));
        var plugin = new MagmaVisionPlugin(client.Model);
        var p = await Assert.ThrowsAsync<MagmaInputException>(() => plugin.DescribeImageAsync(file));
        Assert.Contains("12000x9000", p.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", p.Message, StringComparison.Ordinal);
    }
}
