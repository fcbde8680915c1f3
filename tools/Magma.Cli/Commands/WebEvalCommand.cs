using System.CommandLine;
using System.Globalization;
using Magma.Inference;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Evaluation;
using Magma.Plugins.Web.Grounding;
using Microsoft.Playwright;

namespace Magma.Cli.Commands;

/// <summary>
/// <c>magma web-eval</c>: the web task harness (Magma.Plugins.Web.Evaluation: task sources, oracle/random policies, runner,
/// markdown report) with progress, a results table, <c>--json</c> and a report folder.
/// </summary>
internal static class WebEvalCommand
{
    public static Command Create()
    {
        var model = new ModelArguments(defaultMaxTokens: 64) { ModelRequired = false };
        var policy = new Option<string>("--policy", "-p")
        {
            Description = "Who acts: magma (the model of --model; the default when --model is given), oracle (the task's scripted steps through the marks) or random (random marks).",
        };
        policy.AcceptOnlyFromAmong("magma", "oracle", "random");
        var suite = new Option<string>("--suite") { Description = "A folder of the project's task pages (tests/assets/web: <task>.html with window.TASK and window.REWARD)." };
        var miniwob = new Option<string>("--miniwob") { Description = "A MiniWoB++ checkout (its root or its miniwob/html folder)." };
        var tasks = new Option<string[]>("--tasks", "-t")
        {
            Description = "Tasks to run, comma-separated or repeated (default: the suite's eight, or MiniWoB's six development tasks).",
            AllowMultipleArgumentsPerToken = true,
        };
        var seeds = new Option<int>("--seeds") { Description = "Episodes per task (seeds 0..N-1).", DefaultValueFactory = _ => 1 };
        var steps = new Option<int>("--steps") { Description = "Most actions per episode.", DefaultValueFactory = _ => 12 };
        var output = new Option<string>("--out", "-o") { Description = "Folder for report.md and results.json (default out/web-eval).", DefaultValueFactory = _ => Path.Combine("out", "web-eval") };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (per task, overall, every episode) instead of the table; progress lines go to stderr." };
        var command = new Command("web-eval", "Run web tasks in headless Chromium with a policy; report success, steps and latency per task.")
        {
            policy, suite, miniwob, tasks, seeds, steps, output, json,
        };
        CliHelp.SetEpilogue(command, """
            Examples:
              magma web-eval --policy oracle --suite tests/assets/web
              magma web-eval --policy random --miniwob ~/miniwob-plusplus --seeds 10 --out eval/miniwob-random
              magma web-eval --model ./magma-8b-onnx --cuda --suite tests/assets/web --tasks form,menu --json

            Ctrl+C stops after the current step and keeps the finished episodes (report written, exit 130).

            Exit codes: 0 done, 1 package/folder/browser error, 2 usage, 130 cancelled.
            """);
        model.AddTo(command);
        CliOptions.AtLeastOne(seeds);
        CliOptions.AtLeastOne(steps);
        command.Validators.Add(r =>
        {
            string? p = r.GetValue(policy);
            bool hasModel = r.GetResult(model.Model) is not null;
            if (p is null && !hasModel)
            {
                r.AddError("Give --model <package> (the Magma policy) or --policy oracle|random.");
            }
            else if (p is "oracle" or "random" && hasModel)
            {
                r.AddError($"--policy {p} does not use a model; drop --model, or use --policy magma.");
            }
            else if (p is "magma" && !hasModel)
            {
                r.AddError("--policy magma needs --model <package>.");
            }

            if ((r.GetResult(suite) is null) == (r.GetResult(miniwob) is null))
            {
                r.AddError("Give exactly one of --suite <folder> or --miniwob <checkout>.");
            }
        });
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, () =>
        {
            string policyName = parse.GetValue(policy) ?? "magma";
            string[]? taskList = parse.GetValue(tasks) is { Length: > 0 } t ? [.. t.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))] : null;
            ITaskSource source = parse.GetValue(suite) is { } s ? Suite(s, taskList) : MiniWob(parse.GetRequiredValue(miniwob), taskList);
            return RunAsync(parse, model, policyName, source, parse.GetValue(seeds), parse.GetValue(steps), parse.GetValue(output)!, parse.GetValue(json), ct);
        }, ct));
        return command;
    }

    private static SuiteSource Suite(string folder, string[]? tasks)
    {
        string dir = Path.GetFullPath(folder);
        if (!Directory.Exists(dir))
        {
            throw new MagmaInputException($"--suite: folder '{dir}' does not exist; pass the folder of task pages (tests/assets/web in this repository).");
        }

        var source = new SuiteSource(dir, tasks);
        string[] missing = [.. source.Tasks.Where(t => !File.Exists(Path.Combine(dir, t + ".html")))];
        if (missing.Length > 0)
        {
            string have = string.Join(", ", Directory.EnumerateFiles(dir, "*.html").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal));
            throw new MagmaInputException($"--suite '{dir}' has no page for task(s) {string.Join(", ", missing)}; it has: {have}.");
        }

        return source;
    }

    private static MiniWobSource MiniWob(string checkout, string[]? tasks)
    {
        string dir = Path.GetFullPath(checkout);
        string html = Directory.Exists(Path.Combine(dir, "miniwob", "html", "miniwob")) ? Path.Combine(dir, "miniwob", "html") : dir;
        if (!Directory.Exists(Path.Combine(html, "miniwob")))
        {
            throw new MagmaInputException($"--miniwob: '{dir}' is not a MiniWoB++ checkout (no miniwob/html/miniwob folder, nor a miniwob folder); clone https://github.com/Farama-Foundation/miniwob-plusplus and pass its root.");
        }

        return new MiniWobSource(html, tasks);
    }

    private static async Task<int> RunAsync(ParseResult parse, ModelArguments args, string policyName, ITaskSource source, int seeds, int maxSteps, string outDir, bool json, CancellationToken ct)
    {
        TextWriter output = parse.InvocationConfiguration.Output, error = parse.InvocationConfiguration.Error;
        await using MagmaModel? model = policyName == "magma" ? args.Load(parse) : null;
        int maxTokens = parse.GetValue(args.MaxTokens);
        Func<EpisodeStart, int, IWebPolicy> factory = policyName switch
        {
            "oracle" => (start, _) => start.OracleOrNull() ?? throw new MagmaInputException("--policy oracle: this task has no oracle script; use --policy random or --model."),
            "random" => (_, seed) => new RandomPolicy(seed),
            _ => (_, _) => new MagmaWebPolicy(model!) { MaxNewTokens = maxTokens },
        };
        var runner = new TaskRunner(source, factory, maxSteps);
        var results = new List<EpisodeResult>();
        int total = source.Tasks.Count * seeds;
        bool cancelled = false;
        WebSession session = await WebSession.LaunchAsync(source.SessionOptions, ct).ConfigureAwait(false);
        string browser = "chromium " + session.BrowserVersion;
        try
        {
            cancelled = await CliConsole.WithProgressAsync(output, error, json, $"{source.Name}, {policyName}", async report =>
            {
                report(0, total, $"{browser}; {total} episodes");
                try
                {
                    foreach (string task in source.Tasks)
                    {
                        for (int seed = 0; seed < seeds; seed++)
                        {
                            ct.ThrowIfCancellationRequested();
                            EpisodeResult r = await runner.RunAsync(session, task, seed, ct).ConfigureAwait(false);
                            results.Add(r);
                            report(results.Count, total, string.Create(CultureInfo.InvariantCulture,
                                $"{task} seed {seed}: {(r.Success ? "success" : "failure")}, reward {r.Reward:0.##} in {r.Steps} steps"));
                        }
                    }

                    return false;
                }
                catch (Exception e) when (CliErrors.IsInterrupt(e, ct))
                {
                    // Keep what finished: the report below covers it and says the run was cut short. Ctrl+C in a
                    // terminal also reaches Playwright's driver and Chromium (same process group), so the episode in
                    // flight may end in a closed-browser error rather than OperationCanceledException.
                    return true;
                }
            }).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }
            catch (PlaywrightException e) when (CliErrors.IsInterrupt(e, ct))
            {
                // The browser is already gone with the Ctrl+C.
            }
        }

        WebEvalReport result = WebEvalReport.From(source.Name, policyName, browser, results, total, cancelled, Path.GetFullPath(outDir));
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "results.json"), CliJson.Serialize(result), CancellationToken.None).ConfigureAwait(false);
        string title = $"{source.Name}, {policyName} policy, {results.Count}/{total} episodes{(cancelled ? " (cancelled)" : "")}";
        await File.WriteAllTextAsync(Path.Combine(outDir, "report.md"), results.Count == 0 ? $"### {title}\n\nNo episode finished.\n" : TaskRunner.Report(title, results),
            CancellationToken.None).ConfigureAwait(false);

        if (json)
        {
            await output.WriteLineAsync(CliJson.Serialize(result)).ConfigureAwait(false);
        }
        else
        {
            var table = CliConsole.Table(1, "task", "episodes", "success", "mean steps", "stale/step", "invalid/step", "observe ms", "model ms", "act ms");
            foreach (WebTaskSummary t in result.Tasks.Append(result.All))
            {
                table.AddRow([t.Task, t.Episodes.ToString(CultureInfo.InvariantCulture), string.Create(CultureInfo.InvariantCulture, $"{t.SuccessRate * 100:0}% ({t.Successes})"),
                    F(t.MeanSteps, "0.0"), F(t.StalePerStep, "0.00"), F(t.InvalidPerStep, "0.00"), F(t.ObserveMs, "0"), F(t.ModelMs, "0"), F(t.ActMs, "0")]);
            }

            await output.WriteLineAsync(title).ConfigureAwait(false);
            CliConsole.Write(output, table);
            await output.WriteLineAsync($"Report   {Path.Combine(result.ReportDirectory, "report.md")}").ConfigureAwait(false);
        }

        if (cancelled)
        {
            await error.WriteLineAsync($"magma: cancelled; {results.Count} of {total} episodes finished and are in the report.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }

        return ExitCodes.Success;
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>One task's (or all tasks') summary in <c>magma web-eval</c>'s output.</summary>
internal sealed record WebTaskSummary(
    string Task, int Episodes, int Successes, double SuccessRate, double MeanSteps, double StalePerStep, double InvalidPerStep, double ObserveMs, double ModelMs, double ActMs)
{
    public static WebTaskSummary Of(string task, IReadOnlyList<EpisodeResult> episodes)
    {
        int steps = episodes.Sum(e => e.Steps);
        static double Mean(IEnumerable<double> xs) => xs.DefaultIfEmpty(0).Average();
        return new WebTaskSummary(task, episodes.Count, episodes.Count(e => e.Success),
            episodes.Count == 0 ? 0 : (double)episodes.Count(e => e.Success) / episodes.Count,
            episodes.Count == 0 ? 0 : episodes.Average(e => e.Steps),
            (double)episodes.Sum(e => e.Stale) / Math.Max(1, steps), (double)episodes.Sum(e => e.Invalid) / Math.Max(1, steps),
            Mean(episodes.SelectMany(e => e.ObserveMs)), Mean(episodes.SelectMany(e => e.ModelMs)), Mean(episodes.SelectMany(e => e.ActMs)));
    }
}

/// <summary>One episode in <c>magma web-eval</c>'s output (per-step times as means).</summary>
internal sealed record WebEpisode(string Task, int Seed, double Reward, bool Success, int Steps, int Stale, int Invalid, double ObserveMs, double ModelMs, double ActMs);

/// <summary>What <c>magma web-eval --json</c> prints and writes to results.json.</summary>
internal sealed record WebEvalReport(
    string Source, string Policy, string Browser, int Total, bool Cancelled, string ReportDirectory,
    IReadOnlyList<WebTaskSummary> Tasks, WebTaskSummary All, IReadOnlyList<WebEpisode> Episodes)
{
    public static WebEvalReport From(string source, string policy, string browser, IReadOnlyList<EpisodeResult> results, int total, bool cancelled, string directory) => new(
        source, policy, browser, total, cancelled, directory,
        [.. results.GroupBy(r => r.Task).Select(g => WebTaskSummary.Of(g.Key, [.. g]))],
        WebTaskSummary.Of("all", results),
        [.. results.Select(r => new WebEpisode(r.Task, r.Seed, r.Reward, r.Success, r.Steps, r.Stale, r.Invalid,
            r.ObserveMs.DefaultIfEmpty(0).Average(), r.ModelMs.DefaultIfEmpty(0).Average(), r.ActMs.DefaultIfEmpty(0).Average()))]);
}
