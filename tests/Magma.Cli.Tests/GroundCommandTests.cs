using System.Text.Json;
using Magma.Cli.Commands;
using Magma.Inference.Imaging;
using Magma.Tasks.Decoding;

namespace Magma.Cli.Tests;

public sealed class GroundCommandTests
{
    [Fact]
    public async Task Parsed_target_is_printed_and_marked_on_a_copy_of_the_screenshot()
    {
        RgbImage shot = RgbImage.Load(Cli.Photo);
        DecodeResult<UiTarget> target = UiAnswerParser.ParseTarget("Coordinate: (0.25, 0.5)", shot.Width, shot.Height, null);
        Assert.True(target.IsSuccess);
        string outPath = Path.Combine(Path.GetTempPath(), "magma-ground-" + Guid.NewGuid().ToString("N") + ".png");
        using var output = new StringWriter();
        using var error = new StringWriter();
        try
        {
            int code = await GroundCommand.ReportAsync(target, shot, outPath, json: false, output, error, CancellationToken.None);

            Assert.Equal(0, code);
            Assert.Equal("", error.ToString());
            Assert.Contains($"Target   ({shot.Width * 0.25:F0}, {shot.Height * 0.5:F0}) px", output.ToString(), StringComparison.Ordinal);
            RgbImage marked = RgbImage.Load(outPath);
            Assert.Equal((shot.Width, shot.Height), (marked.Width, marked.Height));
            // The crosshair passes through the target: that pixel is now the marker's red.
            int i = (((shot.Height / 2) * shot.Width) + (shot.Width / 4)) * 3;
            Assert.Equal((255, 0, 64), (marked.Span[i], marked.Span[i + 1], marked.Span[i + 2]));
            // Far from the target the picture is unchanged.
            Assert.Equal(shot.Span[..30].ToArray(), marked.Span[..30].ToArray());
        }
        finally
        {
            File.Delete(outPath);
        }
    }

    [Fact]
    public async Task Json_report_of_a_target_has_pixel_rule_and_marked_path()
    {
        DecodeResult<UiTarget> target = UiAnswerParser.ParseTarget("Coordinate: (0.1, 0.2, 0.3, 0.4)", 1000, 500, null);
        using var output = new StringWriter();
        using var error = new StringWriter();

        int code = await GroundCommand.ReportAsync(target, RgbImage.FromPixels(1000, 500, new byte[1000 * 500 * 3]), null, json: true, output, error, CancellationToken.None);

        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output.ToString());
        JsonElement root = doc.RootElement;
        Assert.True(root.GetProperty("found").GetBoolean());
        Assert.Equal(200, root.GetProperty("target").GetProperty("pixel").GetProperty("x").GetDouble(), 6);
        Assert.Equal(150, root.GetProperty("target").GetProperty("pixel").GetProperty("y").GetDouble(), 6);
        Assert.Equal("coordinate_tuple", root.GetProperty("target").GetProperty("rule").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("marked").ValueKind);
    }

    [Fact]
    public async Task Tiny_model_noise_is_a_typed_failure_exit_3_and_nothing_is_written()
    {
        string outPath = Path.Combine(Path.GetTempPath(), "magma-ground-" + Guid.NewGuid().ToString("N") + ".png");

        CliRun run = await Cli.RunAsync("ground", "-m", Cli.TinyModel, "--image", Cli.Photo, "--max-tokens", "16", "--out", outPath, "the search box");

        // Random weights never write coordinates; the command must say so instead of inventing a target.
        Assert.Equal(3, run.ExitCode);
        Assert.StartsWith("magma: no target in the model's answer (", run.Err, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
        Assert.False(File.Exists(outPath));
    }

    [Fact]
    public async Task Tiny_model_json_failure_carries_reason_and_raw_answer()
    {
        CliRun run = await Cli.RunAsync("ground", "-m", Cli.TinyModel, "-i", Cli.Photo, "--max-tokens", "8", "--json", "the search box");

        Assert.Equal(3, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        Assert.False(doc.RootElement.GetProperty("found").GetBoolean());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("failure_reason").GetString()));
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("answer").GetString()));
    }
}
