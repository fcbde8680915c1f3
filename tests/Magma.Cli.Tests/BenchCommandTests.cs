using System.Text.Json;
using Magma.Cli.Commands;

namespace Magma.Cli.Tests;

/// <summary>The latency harness's output shape; the numbers themselves are not asserted (no timed tests).</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public async Task Json_has_both_steps_with_their_token_counts_and_ordered_statistics()
    {
        CliRun run = await Cli.RunAsync("bench", "-m", Cli.TinyModel, "--repetitions", "3", "--warmup", "1", "--threads", "1", "--json");

        Assert.Equal(0, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal(("cpu", 3, 1), (root.GetProperty("device").GetString(), root.GetProperty("repetitions").GetInt32(), root.GetProperty("warmup").GetInt32()));
        // Where the load went: each session, none on a device (CPU), each within the whole load.
        double loadMs = root.GetProperty("load_ms").GetDouble();
        JsonElement[] stages = [.. root.GetProperty("load_stages").EnumerateArray()];
        Assert.Equal(["session decoder", "session embed", "session vision"], stages.Select(s => s.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.All(stages, s => Assert.InRange(s.GetProperty("ms").GetDouble(), 0.0, loadMs));
        Assert.All(stages, s => Assert.Equal(JsonValueKind.Null, s.GetProperty("device_gib").ValueKind));
        JsonElement[] steps = [.. root.GetProperty("steps").EnumerateArray()];
        Assert.Equal(["libero_step", "ui_step"], steps.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(["256x256", "1280x720"], steps.Select(s => s.GetProperty("image").GetString()));
        // Stop tokens are off, so every repetition decodes exactly the step's token count, even with random weights.
        Assert.Equal([7, 32], steps.Select(s => s.GetProperty("new_tokens").GetInt32()));
        foreach (JsonElement s in steps)
        {
            Assert.Equal(3, s.GetProperty("repetitions").GetInt32());
            Assert.True(s.GetProperty("image_tokens").GetInt32() > 0);
            double min = s.GetProperty("min_ms").GetDouble(), median = s.GetProperty("median_ms").GetDouble(), p90 = s.GetProperty("p90_ms").GetDouble(), max = s.GetProperty("max_ms").GetDouble();
            Assert.True(min > 0 && min <= median && median <= p90 && p90 <= max, $"{s.GetProperty("name")}: {min} {median} {p90} {max}");
        }

        // The 1280x720 screenshot is cropped into more image tokens than the 256x256 frame.
        Assert.True(steps[1].GetProperty("image_tokens").GetInt32() > steps[0].GetProperty("image_tokens").GetInt32());
        // Progress lines on stderr: 2 steps x (1 warm-up + 3 runs).
        Assert.Contains("[8/8] ui_step run 3:", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Text_output_is_a_table_with_median_and_p90()
    {
        CliRun run = await Cli.RunAsync("bench", "-m", Cli.TinyModel, "-n", "1", "--warmup", "0", "--threads", "1");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("median ms", run.Out, StringComparison.Ordinal);
        Assert.Contains("p90 ms", run.Out, StringComparison.Ordinal);
        Assert.Contains(run.Out.Split('\n'), l => l.StartsWith("│ libero_step │ 256x256  │", StringComparison.Ordinal));
        Assert.Contains(run.Out.Split('\n'), l => l.StartsWith("│ ui_step     │ 1280x720 │", StringComparison.Ordinal));
    }

    [Fact]
    public void Percentiles_interpolate_between_ranks()
    {
        double[] sorted = [10, 20, 30, 40];

        Assert.Equal(25, BenchStep.Percentile(sorted, 0.5), 9);
        Assert.Equal(37, BenchStep.Percentile(sorted, 0.9), 9);
        Assert.Equal(10, BenchStep.Percentile([10], 0.9), 9);
    }

    [Theory]
    [InlineData("Argument 'tpu' not recognized", "bench", "-m", "x", "--device", "tpu")]
    [InlineData("--repetitions must be at least 1.", "bench", "-m", "x", "-n", "0")]
    [InlineData("Option '--model' is required.", "bench")]
    public async Task Bad_arguments_are_usage_errors(string message, params string[] args)
    {
        CliRun run = await Cli.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_package_exits_1_naming_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-magma-" + Guid.NewGuid().ToString("N"));

        CliRun run = await Cli.RunAsync("bench", "-m", missing);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(missing, run.Err, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }
}
