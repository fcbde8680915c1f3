using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.WebHarness;

/// <summary>How an episode begins: the goal, and the oracle's steps when the source knows them.</summary>
internal sealed record EpisodeStart(string Goal, IReadOnlyList<OracleStep>? Oracle);

/// <summary>A set of task pages with a reward read from the page.</summary>
internal interface ITaskSource
{
    string Name { get; }

    IReadOnlyList<string> Tasks { get; }

    WebSessionOptions SessionOptions { get; }

    Task<EpisodeStart> StartAsync(WebSession session, string task, int seed);

    /// <summary>The episode's reward once it is over, null while it runs.</summary>
    Task<double?> RewardAsync(WebSession session);

    bool IsSuccess(double reward);
}

/// <summary>The project's own task pages (tests/assets/web): <c>window.TASK</c> and <c>window.REWARD</c>.</summary>
internal sealed class SuiteSource(string folder, IReadOnlyList<string>? tasks = null) : ITaskSource
{
    public const string Origin = "http://tasks.test";

    public static readonly string[] DefaultTasks = ["form", "menu", "dialog", "iframe", "shadow", "scroll", "occluded", "popup"];

    public string Name => "suite";

    public IReadOnlyList<string> Tasks { get; } = tasks ?? DefaultTasks;

    public WebSessionOptions SessionOptions => new()
    {
        ViewportWidth = 800,
        ViewportHeight = 600,
        LocalSites = new Dictionary<string, string> { [Origin] = folder },
        // The task pages are local and scripted: the gate approves (run with --gate deny to see what it would hold).
        Approve = (_, _) => Task.FromResult(true),
    };

    public async Task<EpisodeStart> StartAsync(WebSession session, string task, int seed)
    {
        await session.OpenAsync($"{Origin}/{task}.html");
        JsonElement t = await session.Page.EvaluateAsync<JsonElement>("() => window.TASK");
        return new EpisodeStart(t.GetProperty("goal").GetString()!, OraclePolicy.FromTaskJson(t.GetProperty("oracle")));
    }

    public async Task<double?> RewardAsync(WebSession session)
    {
        double r = await session.Page.EvaluateAsync<double>("() => window.REWARD || 0");
        return r == 0 ? null : r;
    }

    public bool IsSuccess(double reward) => reward >= 1;
}

/// <summary>One episode's outcome.</summary>
internal sealed record EpisodeResult(string Task, int Seed, double Reward, bool Success, int Steps, int Stale, int Invalid,
    IReadOnlyList<double> ObserveMs, IReadOnlyList<double> ModelMs, IReadOnlyList<double> ActMs);

/// <summary>Runs episodes: observe → policy → act through the session, reward read from the page after each step.</summary>
internal sealed class TaskRunner(ITaskSource source, Func<EpisodeStart, int, IWebPolicy> policyFactory, int maxSteps = 12, Action<string>? log = null)
{
    public async Task<EpisodeResult> RunAsync(WebSession session, string task, int seed, CancellationToken ct = default)
    {
        EpisodeStart start = await source.StartAsync(session, task, seed);
        IWebPolicy policy = policyFactory(start, seed);
        log?.Invoke($"{task} seed {seed}: {start.Goal}");
        var history = new List<string>();
        List<double> observeMs = [], modelMs = [], actMs = [];
        int steps = 0, stale = 0, invalid = 0;
        double? reward = null;
        while (steps < maxSteps && reward is null)
        {
            steps++;
            WebObservation obs = await session.ObserveAsync(ct);
            observeMs.Add(obs.Timings.TotalMs);
            var sw = Stopwatch.StartNew();
            log?.Invoke(obs.MarkList().TrimEnd());
            WebDecision d = await policy.DecideAsync(obs, start.Goal, history, ct);
            modelMs.Add(d.ModelMs > 0 ? d.ModelMs : sw.Elapsed.TotalMilliseconds);
            if (d.Kind == WebDecisionKind.Done)
            {
                break;
            }

            sw.Restart();
            string outcome;
            try
            {
                outcome = d.Kind == WebDecisionKind.Invalid ? "invalid: " + d.Note : (await ActAsync(session, obs, d, ct)).ToString();
                if (d.Kind == WebDecisionKind.Invalid)
                {
                    invalid++;
                }
            }
            catch (WebStaleObservationException ex)
            {
                stale++;
                outcome = "stale: " + ex.Message;
            }
            catch (Exception ex) when (ex is WebActionException or WebPolicyException)
            {
                invalid++;
                outcome = "invalid: " + ex.Message;
            }

            actMs.Add(sw.Elapsed.TotalMilliseconds);
            history.Add($"{d} -> {outcome}");
            log?.Invoke($"  step {steps}: {d} -> {outcome}");
            reward = await source.RewardAsync(session);
        }

        double final = reward ?? await source.RewardAsync(session) ?? 0;
        return new EpisodeResult(task, seed, final, source.IsSuccess(final), steps, stale, invalid, observeMs, modelMs, actMs);
    }

    internal static Task<Magma.Plugins.Web.Acting.WebEffect> ActAsync(WebSession s, WebObservation obs, WebDecision d, CancellationToken ct) => d.Kind switch
    {
        WebDecisionKind.Click when d.Mark is int m => s.ClickAsync(obs.Id, m, ct),
        WebDecisionKind.Click when d.Point is { } p => s.ClickPointAsync(obs.Id, p.X, p.Y, ct),
        WebDecisionKind.Type => s.TypeAsync(obs.Id, d.Mark ?? -1, d.Value ?? "", false, ct),
        WebDecisionKind.Select => s.SelectAsync(obs.Id, d.Mark ?? -1, d.Value ?? "", ct),
        WebDecisionKind.Scroll => s.ScrollAsync(d.Value ?? "down", d.Mark is null ? null : obs.Id, d.Mark, ct),
        WebDecisionKind.Press => s.PressAsync(d.Value ?? "Enter", ct),
        WebDecisionKind.Back => s.BackAsync(ct),
        _ => throw new WebActionException($"{d} has no target"),
    };

    /// <summary>Markdown report: per task and overall success, steps, stale/invalid rates, per-step latency split.</summary>
    public static string Report(string title, IReadOnlyList<EpisodeResult> results)
    {
        static string Ms(IEnumerable<double> xs) { double[] a = [.. xs]; return a.Length == 0 ? "-" : a.Average().ToString("0", CultureInfo.InvariantCulture); }
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"### {title}").AppendLine()
         .AppendLine("| task | episodes | success | mean steps | stale/step | invalid/step | observe ms | model ms | act ms |")
         .AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (IGrouping<string, EpisodeResult> g in results.GroupBy(r => r.Task).Append(results.GroupBy(_ => "**all**").First()))
        {
            int steps = g.Sum(r => r.Steps);
            s.AppendLine(CultureInfo.InvariantCulture,
                $"| {g.Key} | {g.Count()} | {100.0 * g.Count(r => r.Success) / g.Count():0}% | {g.Average(r => r.Steps):0.0} | {(double)g.Sum(r => r.Stale) / Math.Max(1, steps):0.00} | {(double)g.Sum(r => r.Invalid) / Math.Max(1, steps):0.00} | {Ms(g.SelectMany(r => r.ObserveMs))} | {Ms(g.SelectMany(r => r.ModelMs))} | {Ms(g.SelectMany(r => r.ActMs))} |");
        }

        return s.ToString();
    }
}
