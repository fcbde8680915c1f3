using System.Globalization;
using Magma.Inference;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Evaluation;
using Magma.Plugins.Web.Grounding;

// Usage:
//   dotnet run --project tools/web-harness -c Release -- --policy oracle|random|magma [--suite tests/assets/web]
//       [--miniwob <miniwob-plusplus>/miniwob/html] [--tasks a,b] [--seeds N] [--steps N] [--model <package>] [--verbose] [--gate deny]
//       [--trace <folder>]   (one trace per episode: screenshots with marks, marks.json, steps; open index.html)
string? Arg(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }

string policyName = Arg("--policy") ?? "oracle";
int seeds = int.Parse(Arg("--seeds") ?? "1", CultureInfo.InvariantCulture);
int steps = int.Parse(Arg("--steps") ?? "12", CultureInfo.InvariantCulture);
string[]? tasks = Arg("--tasks")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
ITaskSource source = Arg("--miniwob") is { } mw
    ? new MiniWobSource(Path.GetFullPath(mw), tasks)
    : new SuiteSource(Path.GetFullPath(Arg("--suite") ?? "tests/assets/web"), tasks);

MagmaModel? model = null;
if (policyName == "magma")
{
    string dir = Arg("--model") ?? Path.Combine(AppContext.BaseDirectory, "tiny-magma");
    model = MagmaModel.Load(dir);
    Console.WriteLine($"model: {dir}");
}

Func<EpisodeStart, int, IWebPolicy> factory = policyName switch
{
    "oracle" => (start, _) => start.OracleOrNull() ?? throw new InvalidOperationException("this task has no oracle script"),
    "random" => (_, seed) => new RandomPolicy(seed),
    "magma" => (_, _) => new MagmaWebPolicy(model!),
    _ => throw new ArgumentException($"--policy {policyName}: use oracle, random or magma"),
};

var runner = new TaskRunner(source, factory, steps, args.Contains("--verbose") ? Console.WriteLine : null,
    Arg("--trace") is { } traceDir ? Path.GetFullPath(traceDir) : null);
var results = new List<EpisodeResult>();
await using (WebSession session = await WebSession.LaunchAsync(source.SessionOptions))
{
    if (Arg("--gate") == "deny")
    {
        // The session's approval gate with no approver: every request or action that needs approval is refused and reported.
        session.Approver = null;
    }

    Console.WriteLine($"chromium {session.BrowserVersion}; {source.Name}; policy {policyName}; {seeds} seed(s); gate {(session.Approver is null ? "denies" : "approves")}");
    foreach (string task in source.Tasks)
    {
        for (int seed = 0; seed < seeds; seed++)
        {
            EpisodeResult r = await runner.RunAsync(session, task, seed);
            results.Add(r);
            Console.WriteLine($"{task} seed {seed}: reward {r.Reward:0.##} in {r.Steps} steps (stale {r.Stale}, invalid {r.Invalid})");
        }
    }
}

model?.Dispose();
Console.WriteLine();
Console.WriteLine(TaskRunner.Report($"{source.Name}, {policyName} policy", results));
