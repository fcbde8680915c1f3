using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Cli.Commands;

/// <summary>
/// <c>magma bench</c>: end-to-end latency of the two request shapes the agents send, measured warm on a package:
/// a LIBERO step (256x256 frame + instruction, 7 action tokens) and a UI step (1280x720 screenshot, 32 tokens).
/// </summary>
internal static class BenchCommand
{
    /// <summary>The request shapes measured.</summary>
    internal static readonly BenchShape[] Shapes =
    [
        new("libero_step", 256, 256, 7, "put the bowl on the plate", robot: true),
        new("ui_step", 1280, 720, 32, "Click the search box.", robot: false),
    ];

    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model package folder (holds magma.json).", Required = true };
        var device = new Option<string>("--device", "-d") { Description = "Where the model runs.", DefaultValueFactory = _ => "cpu" };
        device.AcceptOnlyFromAmong("cpu", "cuda");
        var repetitions = new Option<int>("--repetitions", "-n") { Description = "Measured (warm) repetitions per step.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured repetitions first (session warm-up, CUDA kernel selection).", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads per session; 0 = one per physical core.", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (per step: median, p90, mean, min, max ms and the token counts) instead of the table." };
        var command = new Command("bench", "Measure warm end-to-end latency of a LIBERO step and a UI step on a package.")
        {
            model, device, repetitions, warmup, threads, json,
        };
        CliOptions.AtLeastOne(repetitions);
        warmup.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--warmup must be 0 or more.");
            }
        });
        threads.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0)
            {
                r.AddError("--threads must be 0 (automatic) or more.");
            }
        });
        CliHelp.SetEpilogue(command, """
            Steps (greedy, stop tokens off so every repetition decodes exactly the same count):
              libero_step  256x256 frame + instruction, Magma's robot-action prompt -> 7 tokens
              ui_step      1280x720 screenshot, the UI click prompt -> 32 tokens
            Each repetition is one whole request: image pre-processing, vision, prefill and decode.

            Examples:
              magma bench -m ./magma-8b-onnx --device cuda
              magma bench -m ./magma-8b-onnx --device cpu --threads 16 --repetitions 5 --json

            Exit codes: 0 done, 1 package/device error, 2 usage, 130 cancelled.
            """);
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, () => RunAsync(
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, parse.GetRequiredValue(model), parse.GetValue(device)!,
            parse.GetValue(repetitions), parse.GetValue(warmup), parse.GetValue(threads), parse.GetValue(json), ct), ct));
        return command;
    }

    private static async Task<int> RunAsync(TextWriter output, TextWriter error, string package, string device, int repetitions, int warmup, int threads, bool json, CancellationToken ct)
    {
        var options = new MagmaModelOptions { Device = device == "cuda" ? MagmaDevice.Cuda : MagmaDevice.Cpu, IntraOpThreads = threads };
        var load = Stopwatch.StartNew();
        if (options.Device == MagmaDevice.Cuda)
        {
            CudaProvider.EnsureBundled();
        }

        await using MagmaModel model = MagmaModel.Load(package, options);
        double loadMs = load.Elapsed.TotalMilliseconds;

        int perStep = warmup + repetitions, total = perStep * Shapes.Length;
        List<BenchStep> steps = await CliConsole.WithProgressAsync(output, error, json, "bench", async report =>
        {
            var results = new List<BenchStep>();
            int done = 0;
            foreach (BenchShape shape in Shapes)
            {
                MagmaRequest request = shape.Request(model);
                var times = new List<double>(repetitions);
                MagmaUsage? usage = null;
                for (int i = 0; i < perStep; i++)
                {
                    var sw = Stopwatch.StartNew();
                    MagmaResponse response = await model.GenerateAsync(request, ct).ConfigureAwait(false);
                    double ms = sw.Elapsed.TotalMilliseconds;
                    usage = response.Usage;
                    bool measured = i >= warmup;
                    if (measured)
                    {
                        times.Add(ms);
                    }

                    report(++done, total, string.Create(CultureInfo.InvariantCulture, $"{shape.Name} {(measured ? $"run {i - warmup + 1}" : $"warm-up {i + 1}")}: {ms:F1} ms"));
                }

                results.Add(BenchStep.From(shape, usage!, times));
            }

            return results;
        }).ConfigureAwait(false);

        var result = new BenchResult(model.Package.Manifest.ModelId, Path.GetFullPath(package), device, threads, warmup, repetitions, loadMs,
            [.. model.LoadStages.Select(BenchLoadStage.From)], steps);
        if (json)
        {
            await output.WriteLineAsync(CliJson.Serialize(result)).ConfigureAwait(false);
            return ExitCodes.Success;
        }

        CultureInfo c = CultureInfo.InvariantCulture;
        var table = CliConsole.Table(2, "step", "input", "prompt tokens", "new tokens", "median ms", "p90 ms", "mean ms", "min ms", "max ms");
        foreach (BenchStep s in steps)
        {
            table.AddRow([s.Name, s.Image, s.PromptTokens.ToString(c), s.NewTokens.ToString(c),
                s.MedianMs.ToString("F1", c), s.P90Ms.ToString("F1", c), s.MeanMs.ToString("F1", c), s.MinMs.ToString("F1", c), s.MaxMs.ToString("F1", c)]);
        }

        await output.WriteLineAsync(string.Create(c, $"{result.Model} on {device}{(threads > 0 ? $", {threads} threads" : "")}: {repetitions} warm repetitions after {warmup} warm-up; load {loadMs:F0} ms")).ConfigureAwait(false);
        CliConsole.Write(output, table);
        return ExitCodes.Success;
    }
}

/// <summary>One request shape of the latency harness.</summary>
internal sealed class BenchShape(string name, int width, int height, int newTokens, string text, bool robot)
{
    public string Name => name;

    public int Width => width;

    public int Height => height;

    public int NewTokens => newTokens;

    /// <summary>The request: a deterministic synthetic image (no file needed), greedy, stop tokens off so exactly <see cref="NewTokens"/> are decoded.</summary>
    public MagmaRequest Request(MagmaModel model) => new()
    {
        Images = [Pattern(width, height)],
        Turns = MagmaPrompts.Conversation(robot ? MagmaPrompts.RobotAction(text, model.UseImageStartEnd) : MagmaPrompts.UiClick(text, model.UseImageStartEnd)),
        Options = new GenerationOptions { MaxNewTokens = newTokens, StopTokenIds = [] },
    };

    private static RgbImage Pattern(int w, int h)
    {
        // Gradients with a few flat blocks: like a frame or a page, and compressible detail for the vision tower.
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int i = ((y * w) + x) * 3;
                bool block = ((x / 64) + (y / 48)) % 5 == 0;
                rgb[i] = block ? (byte)40 : (byte)(x * 255 / w);
                rgb[i + 1] = block ? (byte)120 : (byte)(y * 255 / h);
                rgb[i + 2] = block ? (byte)200 : (byte)((x + y) % 256);
            }
        }

        return RgbImage.FromPixels(w, h, rgb);
    }
}

/// <summary>Latency of one step shape in <c>magma bench</c>'s output.</summary>
internal sealed record BenchStep(string Name, string Image, int PromptTokens, int ImageTokens, int NewTokens, int Repetitions,
    double MedianMs, double P90Ms, double MeanMs, double MinMs, double MaxMs)
{
    public static BenchStep From(BenchShape shape, MagmaUsage usage, IReadOnlyList<double> times)
    {
        double[] sorted = [.. times.Order()];
        return new BenchStep(shape.Name, $"{shape.Width}x{shape.Height}", usage.PromptTokens, usage.ImageTokens, usage.CompletionTokens, sorted.Length,
            Percentile(sorted, 0.5), Percentile(sorted, 0.9), sorted.Average(), sorted[0], sorted[^1]);
    }

    /// <summary>Linear interpolation between closest ranks (numpy's default), so the median of an even count is the middle mean.</summary>
    internal static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        double rank = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }
}

/// <summary>What <c>magma bench --json</c> prints: <c>load_ms</c> is the whole load (with the CUDA warm-up), <c>load_stages</c> where it went.</summary>
internal sealed record BenchResult(
    string Model, string Package, string Device, int Threads, int Warmup, int Repetitions, double LoadMs, IReadOnlyList<BenchLoadStage> LoadStages,
    IReadOnlyList<BenchStep> Steps);

/// <summary>One stage of the load (<see cref="MagmaLoadStage"/>); stages made side by side overlap.</summary>
internal sealed record BenchLoadStage(string Name, double Ms, double? DeviceGib)
{
    public static BenchLoadStage From(MagmaLoadStage stage) =>
        new(stage.Name, Math.Round(stage.Elapsed.TotalMilliseconds, 1), stage.DeviceBytesInUse is long b ? Math.Round(b / (double)(1L << 30), 2) : null);
}
