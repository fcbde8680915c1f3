using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Evaluation;

/// <summary>How an episode begins: the goal, and the oracle's steps when the source knows them.</summary>
/// <param name="Goal">The task's instruction, as the policy sees it.</param>
/// <param name="Oracle">The scripted steps for <see cref="OraclePolicy"/>; null when the source has none for this task.</param>
/// <param name="Script">
/// A scripted oracle that reads each observation (marks and visible text) to choose its next step, for tasks whose steps
/// depend on what the page shows; null when <paramref name="Oracle"/>'s fixed steps suffice or the source has none.
/// </param>
public sealed record EpisodeStart(string Goal, IReadOnlyList<OracleStep>? Oracle, Func<IWebPolicy>? Script = null)
{
    /// <summary>The oracle policy for this episode: the script when there is one, else the fixed steps; null when neither.</summary>
    public IWebPolicy? OracleOrNull() => Script is not null ? Script() : Oracle is null ? null : new OraclePolicy(Oracle);
}

/// <summary>A set of task pages with a reward read from the page.</summary>
public interface ITaskSource
{
    /// <summary>The source's name in reports (<c>suite</c>, <c>miniwob</c>).</summary>
    string Name { get; }

    /// <summary>The tasks to run, in order.</summary>
    IReadOnlyList<string> Tasks { get; }

    /// <summary>The options of the browser session the tasks run in (viewport, the local site that serves the pages).</summary>
    WebSessionOptions SessionOptions { get; }

    /// <summary>Opens the task's page in <paramref name="session"/>, seeded, and returns its goal.</summary>
    Task<EpisodeStart> StartAsync(WebSession session, string task, int seed);

    /// <summary>The episode's reward once it is over, null while it runs.</summary>
    Task<double?> RewardAsync(WebSession session);

    /// <summary>Whether a final reward counts as success.</summary>
    bool IsSuccess(double reward);
}

/// <summary>The project's own task pages (tests/assets/web): <c>window.TASK</c> and <c>window.REWARD</c>.</summary>
/// <param name="folder">The folder of task pages (<c>&lt;task&gt;.html</c>).</param>
/// <param name="tasks">Tasks to run; null for the suite's eight.</param>
public sealed class SuiteSource(string folder, IReadOnlyList<string>? tasks = null) : ITaskSource
{
    internal const string Origin = "http://tasks.test";

    internal static readonly string[] DefaultTasks = ["form", "menu", "dialog", "iframe", "shadow", "scroll", "occluded", "popup"];

    /// <inheritdoc/>
    public string Name => "suite";

    /// <inheritdoc/>
    public IReadOnlyList<string> Tasks { get; } = tasks ?? DefaultTasks;

    /// <inheritdoc/>
    public WebSessionOptions SessionOptions => new()
    {
        ViewportWidth = 800,
        ViewportHeight = 600,
        LocalSites = new Dictionary<string, string> { [Origin] = folder },
        // The task pages are local and scripted: the gate approves (run with --gate deny to see what it would hold).
        Approve = (_, _) => Task.FromResult(true),
    };

    /// <inheritdoc/>
    public async Task<EpisodeStart> StartAsync(WebSession session, string task, int seed)
    {
        await session.OpenAsync($"{Origin}/{task}.html").ConfigureAwait(false);
        JsonElement t = await session.Page.EvaluateAsync<JsonElement>("() => window.TASK").ConfigureAwait(false);
        return new EpisodeStart(t.GetProperty("goal").GetString()!, OraclePolicy.FromTaskJson(t.GetProperty("oracle")));
    }

    /// <inheritdoc/>
    public async Task<double?> RewardAsync(WebSession session)
    {
        double r = await session.Page.EvaluateAsync<double>("() => window.REWARD || 0").ConfigureAwait(false);
        return r == 0 ? null : r;
    }

    /// <inheritdoc/>
    public bool IsSuccess(double reward) => reward >= 1;
}

/// <summary>One episode's outcome.</summary>
/// <param name="Task">The task.</param>
/// <param name="Seed">The episode's seed.</param>
/// <param name="Reward">The final reward read from the page (0 when the episode never ended).</param>
/// <param name="Success">Whether the source counts the reward as success.</param>
/// <param name="Steps">Policy decisions taken.</param>
/// <param name="Stale">Actions refused because the page changed since the observation.</param>
/// <param name="Invalid">Decisions that could not be acted on (no such mark, no target, refused action).</param>
/// <param name="ObserveMs">Per step: milliseconds to observe the page.</param>
/// <param name="ModelMs">Per step: milliseconds the policy took to decide.</param>
/// <param name="ActMs">Per step: milliseconds to act.</param>
public sealed record EpisodeResult(string Task, int Seed, double Reward, bool Success, int Steps, int Stale, int Invalid,
    IReadOnlyList<double> ObserveMs, IReadOnlyList<double> ModelMs, IReadOnlyList<double> ActMs);

/// <summary>Runs episodes: observe → policy → act through the session, reward read from the page after each step.</summary>
/// <param name="source">Where the tasks come from.</param>
/// <param name="policyFactory">A fresh policy per episode, from its start and seed.</param>
/// <param name="maxSteps">Most decisions per episode.</param>
/// <param name="log">Receives the goal, each observation's mark list and visible text, and each step's outcome; null for none.</param>
/// <param name="traceFolder">When set, each episode writes a <see cref="Trace.WebTrace"/> (screenshots, marks, steps) to
/// <c>&lt;folder&gt;/&lt;task&gt;-seed&lt;N&gt;</c>; null for none.</param>
public sealed class TaskRunner(ITaskSource source, Func<EpisodeStart, int, IWebPolicy> policyFactory, int maxSteps = 12, Action<string>? log = null,
    string? traceFolder = null)
{
    /// <summary>Runs one episode of <paramref name="task"/> in <paramref name="session"/>.</summary>
    public async Task<EpisodeResult> RunAsync(WebSession session, string task, int seed, CancellationToken ct = default)
    {
        EpisodeStart start = await source.StartAsync(session, task, seed).ConfigureAwait(false);
        IWebPolicy policy = policyFactory(start, seed);
        log?.Invoke($"{task} seed {seed}: {start.Goal}");
        Trace.WebTrace? trace = traceFolder is null ? null
            : new Trace.WebTrace(Path.Combine(traceFolder, $"{task}-seed{seed.ToString(CultureInfo.InvariantCulture)}"), start.Goal, session.Redact);
        var history = new List<string>();
        List<double> observeMs = [], modelMs = [], actMs = [];
        int steps = 0, stale = 0, invalid = 0;
        double? reward = null;
        while (steps < maxSteps && reward is null)
        {
            steps++;
            WebObservation obs = await session.ObserveAsync(ct).ConfigureAwait(false);
            observeMs.Add(obs.Timings.TotalMs);
            var sw = Stopwatch.StartNew();
            log?.Invoke(obs.MarkList().TrimEnd());
            log?.Invoke("  text: " + string.Join(" | ", obs.Texts.Select(t => t.Text)));
            WebDecision d = await policy.DecideAsync(obs, start.Goal, history, ct).ConfigureAwait(false);
            modelMs.Add(d.ModelMs > 0 ? d.ModelMs : sw.Elapsed.TotalMilliseconds);
            if (d.Kind == WebDecisionKind.Done)
            {
                break;
            }

            sw.Restart();
            string outcome;
            try
            {
                outcome = d.Kind == WebDecisionKind.Invalid ? "invalid: " + d.Note : (await ActAsync(session, obs, d, ct).ConfigureAwait(false)).ToString();
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
            trace?.Record(new Trace.WebTraceStep { Index = steps - 1, Observation = obs, Decision = d, Outcome = outcome, ActMs = actMs[^1] });
            history.Add($"{d} -> {outcome}");
            log?.Invoke($"  step {steps}: {d} -> {outcome}");
            reward = await source.RewardAsync(session).ConfigureAwait(false);
        }

        double final = reward ?? await source.RewardAsync(session).ConfigureAwait(false) ?? 0;
        trace?.Finish($"reward {final.ToString("0.##", CultureInfo.InvariantCulture)} in {steps.ToString(CultureInfo.InvariantCulture)} steps");
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
        WebDecisionKind.Hover when d.Mark is int m => s.HoverAsync(obs.Id, m, ct),
        WebDecisionKind.DoubleClick when d.Mark is int m => s.DoubleClickAsync(obs.Id, m, ct),
        WebDecisionKind.Drag when d.Mark is int m && d.ToMark is int to => s.DragAsync(obs.Id, m, to, ct),
        WebDecisionKind.Drag when d.Mark is int m && d.ToPoint is { } q => s.DragToPointAsync(obs.Id, m, q.X, q.Y, ct),
        WebDecisionKind.SetValue when d.Mark is int m => s.SetValueAsync(obs.Id, m, d.Value ?? "", ct),
        WebDecisionKind.AddOption when d.Mark is int m => s.SelectAsync(obs.Id, m, d.Value ?? "", Acting.WebSelectMode.Add, ct),
        WebDecisionKind.RemoveOption when d.Mark is int m => s.SelectAsync(obs.Id, m, d.Value ?? "", Acting.WebSelectMode.Remove, ct),
        WebDecisionKind.Wait => s.WaitAsync(int.TryParse(d.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int ms) ? ms : 500, ct),
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
