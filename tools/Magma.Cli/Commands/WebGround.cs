using System.CommandLine;
using System.Globalization;
using Magma.Inference;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Microsoft.Playwright;
using SkiaSharp;

namespace Magma.Cli.Commands;

/// <summary><c>magma ground --url</c>: open the page in Chromium, observe it with Set-of-Mark, ground the instruction on it.</summary>
internal static class WebGround
{
    public static async Task<int> RunAsync(ParseResult parse, ModelArguments args, string instruction, WebPageTarget page, string? outPath, bool json, CancellationToken ct)
    {
        TextWriter error = parse.InvocationConfiguration.Error;
        // The page first: a wrong URL or a missing Chromium should fail before seconds of model loading.
        await using WebSession session = await WebSession.LaunchAsync(page.SessionOptions, ct).ConfigureAwait(false);
        try
        {
            await session.OpenAsync(page.Url, ct).ConfigureAwait(false);
        }
        catch (PlaywrightException e) when (!CliErrors.IsInterrupt(e, ct))
        {
            await error.WriteLineAsync($"magma: could not open {page.Url}: {e.Message.Split('\n')[0].Trim()}").ConfigureAwait(false);
            return ExitCodes.Error;
        }

        WebObservation observation = await session.ObserveAsync(ct).ConfigureAwait(false);
        await using MagmaModel model = args.Load(parse);
        var policy = new MagmaWebPolicy(model, WebPromptStyle.UiClick) { MaxNewTokens = parse.GetValue(args.MaxTokens) };
        WebGrounding grounding = await policy.GroundAsync(observation, instruction, ct).ConfigureAwait(false);
        return await ReportAsync(observation, grounding, [.. session.Blocked.Select(b => b.ToString())], outPath, json,
            parse.InvocationConfiguration.Output, error, ct).ConfigureAwait(false);
    }

    /// <summary>Writes the marked Set-of-Mark screenshot (on success, when asked) and prints the target or the failure; returns the exit code.</summary>
    internal static async Task<int> ReportAsync(
        WebObservation observation, WebGrounding grounding, IReadOnlyList<string> blocked, string? outPath, bool json, TextWriter output, TextWriter error, CancellationToken ct)
    {
        bool found = grounding.Pixel is not null;
        if (grounding.Pixel is { } p && outPath is not null)
        {
            SKRect? box = grounding.Mark is { } m ? SKRect.Create(m.PixelBox.X, m.PixelBox.Y, m.PixelBox.Width, m.PixelBox.Height) : null;
            await File.WriteAllBytesAsync(outPath, TargetMarker.Draw(observation.Marked, p.X, p.Y, box), ct).ConfigureAwait(false);
        }

        string? marked = found && outPath is not null ? Path.GetFullPath(outPath) : null;
        if (json)
        {
            await output.WriteLineAsync(CliJson.Serialize(new WebGroundResult(
                found, observation.Url, observation.Title, observation.Marks.Count,
                grounding.Pixel is { } px ? new PixelPoint(px.X, px.Y) : null, grounding.Mark, grounding.Note, grounding.RawAnswer, marked, blocked))).ConfigureAwait(false);
        }
        else
        {
            CultureInfo c = CultureInfo.InvariantCulture;
            await output.WriteLineAsync(string.Create(c, $"Page     {observation.Title} <{observation.Url}>, {observation.Marks.Count} marks")).ConfigureAwait(false);
            if (grounding.Pixel is { } t)
            {
                string mark = grounding.Mark is { } m
                    ? string.Create(c, $"mark {m.Describe()} at ({m.PixelBox.X:F0}, {m.PixelBox.Y:F0}, {m.PixelBox.Width:F0}x{m.PixelBox.Height:F0}) px")
                    : "no mark (the element under the point)";
                await output.WriteLineAsync(string.Create(c, $"Target   ({t.X:F0}, {t.Y:F0}) px; {mark}")).ConfigureAwait(false);
                await output.WriteLineAsync($"Read     {grounding.Note}").ConfigureAwait(false);
                await output.WriteLineAsync($"Answer   {grounding.RawAnswer}").ConfigureAwait(false);
                if (marked is not null)
                {
                    await output.WriteLineAsync($"Marked   {marked}").ConfigureAwait(false);
                }
            }

            foreach (string b in blocked)
            {
                await output.WriteLineAsync($"Blocked  {b}").ConfigureAwait(false);
            }
        }

        if (!found)
        {
            await error.WriteLineAsync($"magma: no target in the model's answer ({grounding.Note}); nothing was marked. Answer: {grounding.RawAnswer}").ConfigureAwait(false);
            return ExitCodes.Unparseable;
        }

        return ExitCodes.Success;
    }
}

/// <summary>A point in screenshot pixels.</summary>
internal sealed record PixelPoint(double X, double Y);

/// <summary>What <c>magma ground --url --json</c> prints.</summary>
internal sealed record WebGroundResult(
    bool Found, string Url, string Title, int Marks, PixelPoint? Pixel, WebMark? Mark, string Note, string Answer, string? Marked, IReadOnlyList<string> Blocked);
