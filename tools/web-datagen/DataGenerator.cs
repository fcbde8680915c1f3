using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Magma.Plugins.Web.Browser;

namespace Magma.WebDataGen;

/// <summary>What to generate.</summary>
internal sealed record DataGenOptions
{
    /// <summary>The output folder (created); its examples.jsonl, pages.jsonl and manifest.json are replaced.</summary>
    public required string Output { get; init; }

    /// <summary>The first page seed.</summary>
    public int FirstSeed { get; init; }

    /// <summary>How many pages (seeds FirstSeed … FirstSeed + Pages − 1).</summary>
    public int Pages { get; init; } = 100;

    /// <summary>
    /// Write the image placeholder as <c>&lt;image_start&gt;&lt;image&gt;&lt;image_end&gt;</c> (the checkpoint's
    /// <c>mm_use_image_start_end</c>; true for the project's Magma-shaped reference).
    /// </summary>
    public bool ImageStartEnd { get; init; } = true;

    /// <summary>Also write a grounding-prompt example (<c>Coordinate: (x, y). Mark: N</c>) for each click target.</summary>
    public bool UiClick { get; init; } = true;

    /// <summary>Also run a multi-step episode per page (2–3 of its instructions, then DONE) through the harness's loop.</summary>
    public bool Episodes { get; init; } = true;

    /// <summary>
    /// A model package to score on each page's single-step examples through the web policy (<see cref="ModelEval"/>):
    /// eval.jsonl and eval.json in the output folder.
    /// </summary>
    public string? EvalModel { get; init; }
}

/// <summary>The manifest of a generated data set.</summary>
internal sealed record Manifest
{
    public string Generator { get; init; } = "tools/web-datagen";

    public required int GeneratorVersion { get; init; }

    public required int FirstSeed { get; init; }

    public required int Pages { get; init; }

    public required int Examples { get; init; }

    public required int Targets { get; init; }

    public required int Dropped { get; init; }

    public required int Episodes { get; init; }

    public required bool ImageStartEnd { get; init; }

    public required string Viewport { get; init; }

    public required string Chromium { get; init; }

    public required IReadOnlyDictionary<string, int> ByKind { get; init; }

    public required IReadOnlyDictionary<string, int> ByAction { get; init; }

    public required IReadOnlyDictionary<string, int> ByStyle { get; init; }

    public required IReadOnlyDictionary<string, int> DropReasons { get; init; }

    public required double Seconds { get; init; }

    public required double ExamplesPerMinute { get; init; }

    public required string Created { get; init; }
}

/// <summary>Generates a data set: one Chromium session, one page per seed, examples appended as they come.</summary>
internal static class DataGenerator
{
    private static readonly JsonSerializerOptions Indented = new(ExampleBuilder.Json) { WriteIndented = true };

    public static async Task<Manifest> RunAsync(DataGenOptions o, Action<string>? log = null, CancellationToken ct = default)
    {
        string root = Path.GetFullPath(o.Output);
        string pages = Path.Combine(root, "pages");
        Directory.CreateDirectory(pages);
        Directory.CreateDirectory(Path.Combine(root, "images"));
        var sw = Stopwatch.StartNew();
        var options = new WebSessionOptions
        {
            LocalSites = new Dictionary<string, string> { [ExampleBuilder.Origin] = pages },
            // Episodes act on the generated pages only (the allow-list holds just their origin); labels such as "Send"
            // would otherwise wait for a person's approval. Observations do not depend on it.
            Approve = (_, _) => Task.FromResult(true),
        };
        await using WebSession session = await WebSession.LaunchAsync(options, ct).ConfigureAwait(false);
        await using var examples = new StreamWriter(Path.Combine(root, "examples.jsonl"));
        await using var pageLines = new StreamWriter(Path.Combine(root, "pages.jsonl"));
        var byKind = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byAction = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byStyle = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        using ModelEval? eval = o.EvalModel is null ? null : new ModelEval(o.EvalModel, root);
        int count = 0, targets = 0, drops = 0, episodes = 0;
        for (int i = 0; i < o.Pages; i++)
        {
            int seed = checked(o.FirstSeed + i);
            GeneratedPage page = PageGenerator.Generate(seed);
            await File.WriteAllTextAsync(Path.Combine(pages, page.FileName), page.Html, ct).ConfigureAwait(false);
            PageResult result = await ExampleBuilder.BuildAsync(session, page, o.ImageStartEnd, o.UiClick, ct).ConfigureAwait(false);
            await File.WriteAllBytesAsync(Path.Combine(root, result.Page.Image), result.Observation.Marked.EncodePng(), ct).ConfigureAwait(false);
            await pageLines.WriteLineAsync(JsonSerializer.Serialize(result.Page, ExampleBuilder.Json)).ConfigureAwait(false);
            if (eval is not null)
            {
                await eval.ScoreAsync(result.Observation, result.Examples, ct).ConfigureAwait(false);
            }

            IReadOnlyList<Example> episode = o.Episodes
                ? await EpisodeBuilder.RunAsync(session, page, result, root, o.ImageStartEnd, why => { Bump(reasons, why); drops++; }, ct).ConfigureAwait(false)
                : [];
            foreach (Example e in result.Examples.Concat(episode))
            {
                await examples.WriteLineAsync(JsonSerializer.Serialize(e, ExampleBuilder.Json)).ConfigureAwait(false);
                Bump(byKind, e.Kind);
                Bump(byAction, e.Action);
                Bump(byStyle, e.Step is null ? e.Style : e.Style + "_episode");
            }

            foreach (Drop d in result.Page.Dropped)
            {
                // Reasons without the names in them, so that they add up.
                Bump(reasons, d.Reason.Contains('"', StringComparison.Ordinal) ? d.Reason[..d.Reason.IndexOf('"', StringComparison.Ordinal)].TrimEnd() : d.Reason);
            }

            count += result.Examples.Count + episode.Count;
            episodes += episode.Count > 0 ? 1 : 0;
            targets += page.Targets.Count;
            drops += result.Page.Dropped.Count;
            if ((i + 1) % 25 == 0 || i + 1 == o.Pages)
            {
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{i + 1}/{o.Pages} pages, {count} examples, {drops} targets dropped, {count / sw.Elapsed.TotalMinutes:0} examples/min")
                    + (eval is null ? "" : "; " + eval.Line()));
            }
        }

        double seconds = sw.Elapsed.TotalSeconds;
        var manifest = new Manifest
        {
            GeneratorVersion = PageGenerator.Version,
            FirstSeed = o.FirstSeed,
            Pages = o.Pages,
            Examples = count,
            Targets = targets,
            Dropped = drops,
            Episodes = episodes,
            ImageStartEnd = o.ImageStartEnd,
            Viewport = string.Create(CultureInfo.InvariantCulture, $"{options.ViewportWidth}x{options.ViewportHeight}@{options.DeviceScaleFactor}"),
            Chromium = session.BrowserVersion,
            ByKind = byKind,
            ByAction = byAction,
            ByStyle = byStyle,
            DropReasons = reasons,
            Seconds = Math.Round(seconds, 1),
            ExamplesPerMinute = Math.Round(count / (seconds / 60), 1),
            Created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        await File.WriteAllTextAsync(Path.Combine(root, "manifest.json"), JsonSerializer.Serialize(manifest, Indented), ct).ConfigureAwait(false);
        if (eval is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(root, "eval.json"), JsonSerializer.Serialize(eval.Summary(), Indented), ct).ConfigureAwait(false);
        }

        return manifest;
    }

    private static void Bump(SortedDictionary<string, int> d, string key) => d[key] = d.TryGetValue(key, out int n) ? n + 1 : 1;
}
