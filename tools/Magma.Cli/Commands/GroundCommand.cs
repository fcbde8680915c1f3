using System.CommandLine;
using System.Globalization;
using Magma.Inference;
using Magma.Inference.Decoding;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;

namespace Magma.Cli.Commands;

/// <summary><c>magma ground --model &lt;pkg&gt; --image f "instruction" [--out marked.png]</c>: where to click.</summary>
internal static class GroundCommand
{
    public static Command Create()
    {
        var model = new ModelArguments(defaultMaxTokens: 128);
        var instruction = new Argument<string>("instruction") { Description = "What to find on the screenshot, e.g. \"the search box\"." };
        var image = new Option<string>("--image", "-i") { Description = "The screenshot (PNG, JPEG, WebP, ...).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Write the screenshot with the target marked (PNG) to this file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (target or failure, raw answer) instead of text." };
        var command = new Command("ground", "Ground a UI instruction on a screenshot with Magma's UI prompt and print the click target in pixels.\n" +
            "Exit codes: 0 target found, 1 package/image/device error, 2 usage, 3 the answer held no target, 130 cancelled.")
        {
            instruction, image, output, json,
        };
        model.AddTo(command);
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, () => RunAsync(
            parse, model, parse.GetRequiredValue(instruction), parse.GetRequiredValue(image), parse.GetValue(output), parse.GetValue(json), ct)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, ModelArguments args, string instruction, string imagePath, string? outPath, bool json, CancellationToken ct)
    {
        RgbImage screenshot = RgbImage.Load(imagePath);
        await using MagmaModel model = args.Load(parse);
        DecodeResult<UiTarget> result = await model.GroundAsync(
            screenshot, instruction, options: new GenerationOptions { MaxNewTokens = parse.GetValue(args.MaxTokens) }, cancellationToken: ct).ConfigureAwait(false);
        return await ReportAsync(result, screenshot, outPath, json, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct).ConfigureAwait(false);
    }

    /// <summary>Writes the marked image (on success, when asked) and prints the target or the failure; returns the exit code.</summary>
    internal static async Task<int> ReportAsync(
        DecodeResult<UiTarget> result, RgbImage screenshot, string? outPath, bool json, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (result.IsSuccess && outPath is not null)
        {
            await File.WriteAllBytesAsync(outPath, TargetMarker.Draw(screenshot, result.Value), ct).ConfigureAwait(false);
        }

        if (json)
        {
            await output.WriteLineAsync(CliJson.Serialize(new GroundResult(result.IsSuccess, result.Value, result.FailureReason, result.RawText,
                result.IsSuccess && outPath is not null ? Path.GetFullPath(outPath) : null))).ConfigureAwait(false);
        }
        else if (result.IsSuccess)
        {
            UiTarget t = result.Value;
            CultureInfo c = CultureInfo.InvariantCulture;
            await output.WriteLineAsync(string.Create(c, $"Target   ({t.Pixel.X:F0}, {t.Pixel.Y:F0}) px; normalised ({t.Point.X:F3}, {t.Point.Y:F3}); rule {t.Rule}{(t.MarkId is { } m ? $"; mark {m}" : "")}")).ConfigureAwait(false);
            await output.WriteLineAsync($"Answer   {result.RawText}").ConfigureAwait(false);
            if (outPath is not null)
            {
                await output.WriteLineAsync($"Marked   {Path.GetFullPath(outPath)}").ConfigureAwait(false);
            }
        }

        if (!result.IsSuccess)
        {
            await error.WriteLineAsync($"magma: no target in the model's answer ({result.FailureReason}); nothing was marked. Answer: {result.RawText}").ConfigureAwait(false);
            return ExitCodes.Unparseable;
        }

        return ExitCodes.Success;
    }
}

/// <summary>What <c>magma ground --json</c> prints.</summary>
internal sealed record GroundResult(bool Found, UiTarget? Target, string? FailureReason, string Answer, string? Marked);
