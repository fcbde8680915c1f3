using System.CommandLine;
using System.Globalization;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Tasks;
using Magma.Tasks.Decoding;

namespace Magma.Cli.Commands;

/// <summary><c>magma ground --model &lt;pkg&gt; (--image f | --url u) "instruction" [--out marked.png]</c>: where to click.</summary>
internal static class GroundCommand
{
    public static Command Create()
    {
        var model = new ModelArguments(defaultMaxTokens: 128);
        var instruction = new Argument<string>("instruction") { Description = "What to find, e.g. \"the search box\"." };
        var image = new Option<string>("--image", "-i") { Description = "The screenshot (PNG, JPEG, WebP, ...). Give --image or --url." };
        var url = new Option<string>("--url", "-u")
        {
            Description = "A web page to open in headless Chromium (http(s) URL, or a local .html file), observe with Set-of-Mark and ground on. " +
                "Only its origin (and --allow-origin) may be loaded.",
        };
        var allow = new Option<string[]>("--allow-origin")
        {
            Description = "With --url: another origin the page may load from (scheme://host[:port], e.g. a CDN); repeatable.",
        };
        var viewport = new Option<string>("--viewport")
        {
            Description = "With --url: the browser viewport in CSS pixels, WIDTHxHEIGHT.",
            DefaultValueFactory = _ => WebPageTarget.DefaultViewport,
        };
        var output = new Option<string>("--out", "-o") { Description = "Write the screenshot (with --url: the Set-of-Mark screenshot) with the target marked (PNG) to this file." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (target or failure, raw answer) instead of text." };
        var command = new Command("ground", "Ground a UI instruction on a screenshot, or on a web page opened in Chromium, and print the click target.")
        {
            instruction, image, url, allow, viewport, output, json,
        };
        CliHelp.SetEpilogue(command, """
            Examples:
              magma ground -m ./magma-8b-onnx --image shot.png --out marked.png "the search box"
              magma ground -m ./magma-8b-onnx --url https://example.com --out marked.png "the More information link"
              magma ground -m ./magma-8b-onnx --url ./page.html --viewport 800x600 --json "the Send button"

            With --url the page may load only from its own origin and --allow-origin; everything else is blocked
            and listed. A local .html file is served with its folder under http://local-file.test.

            Exit codes: 0 target found, 1 package/image/page/device error, 2 usage, 3 the answer held no target, 130 cancelled.
            """);
        model.AddTo(command);
        command.Validators.Add(r =>
        {
            bool hasImage = r.GetResult(image) is not null, hasUrl = r.GetResult(url) is not null;
            if (hasImage == hasUrl)
            {
                r.AddError("Give exactly one of --image (a screenshot file) or --url (a web page).");
            }
            else if (!hasUrl && (r.GetResult(allow) is not null || r.GetResult(viewport) is { Implicit: false }))
            {
                r.AddError("--allow-origin and --viewport apply to --url only.");
            }
            else if (hasUrl && WebPageTarget.Validate(r.GetValue(url)!, r.GetValue(allow) ?? [], r.GetValue(viewport) ?? WebPageTarget.DefaultViewport) is { } error)
            {
                r.AddError(error);
            }
        });
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, () => parse.GetValue(url) is { } page
            ? WebGround.RunAsync(parse, model, parse.GetRequiredValue(instruction), WebPageTarget.Create(page, parse.GetValue(allow) ?? [], parse.GetValue(viewport)!),
                parse.GetValue(output), parse.GetValue(json), ct)
            : RunAsync(parse, model, parse.GetRequiredValue(instruction), parse.GetRequiredValue(image), parse.GetValue(output), parse.GetValue(json), ct), ct));
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
