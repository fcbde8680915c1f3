using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;

namespace Magma.Cli.Tests;

public sealed class ChatCommandTests
{
    [Fact]
    public async Task Streamed_text_equals_GenerateAsync_text_for_the_same_request()
    {
        CliRun run = await Cli.RunAsync("chat", "--model", Cli.TinyModel, "--image", Cli.Photo, "--max-tokens", "12", "What is in the picture?");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Err);
        using MagmaModel model = MagmaModel.Load(Cli.TinyModel);
        MagmaResponse expected = await model.GenerateAsync(MagmaRequest.Ask(
            RgbImage.Load(Cli.Photo), "What is in the picture?", new GenerationOptions { MaxNewTokens = 12 }, model.UseImageStartEnd));
        Assert.NotEqual("", expected.Text);
        Assert.Equal(expected.Text + Environment.NewLine, run.Out);
    }

    [Fact]
    public async Task Json_output_has_text_finish_reason_and_usage()
    {
        CliRun run = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--max-tokens", "5", "--json", "hello");

        Assert.Equal(0, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal(JsonValueKind.String, root.GetProperty("text").ValueKind);
        Assert.Equal("max_tokens", root.GetProperty("finish_reason").GetString());
        JsonElement usage = root.GetProperty("usage");
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("image_tokens").GetInt32());
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 5);
    }

    [Fact]
    public async Task Each_image_adds_its_own_placeholder_and_image_tokens()
    {
        CliRun one = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "-i", Cli.Photo, "--max-tokens", "1", "--json", "compare");
        CliRun two = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "-i", Cli.Photo, "-i", Cli.Photo, "--max-tokens", "1", "--json", "compare");

        Assert.Equal((0, 0), (one.ExitCode, two.ExitCode));
        using JsonDocument a = JsonDocument.Parse(one.Out);
        using JsonDocument b = JsonDocument.Parse(two.Out);
        int imageTokens = a.RootElement.GetProperty("usage").GetProperty("image_tokens").GetInt32();
        Assert.True(imageTokens > 0);
        Assert.Equal(2 * imageTokens, b.RootElement.GetProperty("usage").GetProperty("image_tokens").GetInt32());
    }

    [Fact]
    public async Task Cancelled_run_exits_130()
    {
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        CliRun run = await Cli.RunAsync(cancel.Token, "chat", "-m", Cli.TinyModel, "--max-tokens", "5", "hello");

        Assert.Equal(130, run.ExitCode);
        Assert.Contains("cancelled", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreadable_image_exits_1_naming_the_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-image-" + Guid.NewGuid().ToString("N") + ".png");

        CliRun run = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--image", missing, "hello");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(missing, run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", run.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("chat", "hello")]
    [InlineData("chat", "-m", "x", "hello", "--max-tokens", "0")]
    [InlineData("inspect")]
    [InlineData("frobnicate")]
    public async Task Usage_errors_exit_2_with_a_pointer_to_help(params string[] args)
    {
        CliRun run = await Cli.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--help' for usage.", run.Err, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("chat")]
    [InlineData("ground")]
    public async Task Each_command_help_describes_it_and_its_exit_codes(string command)
    {
        CliRun run = await Cli.RunAsync(command, "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"magma {command}", run.Out, StringComparison.Ordinal);
        Assert.Contains("Exit code", run.Out, StringComparison.Ordinal);
    }
}
