using Magma.Inference;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Safety;
using Microsoft.SemanticKernel;

// The web agent demo: a Semantic Kernel kernel with the Magma web plugin opens a local demo shop (served by this
// program through browser routing, no port), and carries out a multi-step task with do_task.
//   dotnet run --project samples/Magma.Samples.WebAgent -c Release                 (bundled tiny random model)
//   dotnet run --project samples/Magma.Samples.WebAgent -c Release -- --model <exported Magma-8B package>
//   options: --goal "<task>" --steps N --yes (approve irreversible actions; default: ask on the console, deny if none)
string? Arg(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }

string modelDir = Arg("--model") ?? Path.Combine(AppContext.BaseDirectory, "tiny-magma");
string goal = Arg("--goal") ?? "Add the Earl grey to the basket, open the basket and place the order for ada@example.com.";
int steps = int.Parse(Arg("--steps") ?? "6", System.Globalization.CultureInfo.InvariantCulture);
bool yes = args.Contains("--yes");
bool tiny = Arg("--model") is null;

// The browser first: on a fresh machine a missing Chromium is the likeliest failure, and its message says which package
// to install; print it as one line rather than an unhandled-exception stack.
WebSession launched;
try
{
    launched = await WebSession.LaunchAsync(new WebSessionOptions
    {
        LocalSites = new Dictionary<string, string> { ["http://shop.demo.test"] = Path.Combine(AppContext.BaseDirectory, "site") },
    });
}
catch (Exception ex) when (ex is WebPolicyException or Microsoft.Playwright.PlaywrightException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    if (ex is Microsoft.Playwright.PlaywrightException)
    {
        Console.Error.WriteLine("Chromium was found but did not start. On Debian: sudo apt-get install -y chromium (it brings the libraries it needs); or set MAGMA_CHROMIUM to a working Chromium binary.");
    }

    return 1;
}

await using WebSession session = launched;
Console.WriteLine($"browser: Chromium {session.BrowserVersion}");
Console.WriteLine($"model: {modelDir}{(tiny ? " (tiny random weights: its choices are NOT meaningful; the pipeline is real)" : "")}");
using MagmaModel model = MagmaModel.Load(modelDir);

string traceRoot = Path.Combine(Path.GetTempPath(), "magma-web-traces");
var plugin = new WebPlugin(session, model) { TraceRoot = traceRoot };
plugin.StepCompleted += (_, s) => Console.WriteLine(
    $"step {s.Index}: {s.Decision} -> {s.Outcome}  [observe {s.Observation.Timings.TotalMs:0} ms, model {s.Decision.ModelMs:0} ms, act {s.ActMs:0} ms]");

Kernel kernel = Kernel.CreateBuilder().Build();
kernel.Plugins.AddFromObject(plugin, plugin.Name);
kernel.FunctionInvocationFilters.Add(new WebConfirmationFilter(plugin, (request, _) =>
{
    Console.Write($"APPROVE? {request.Reason} on {request.Url} [y/N] ");
    if (yes) { Console.WriteLine("y (--yes)"); return Task.FromResult(true); }
    string? line = Console.IsInputRedirected ? null : Console.ReadLine();
    if (line is null) { Console.WriteLine("(no console: denied)"); }
    return Task.FromResult(string.Equals(line?.Trim(), "y", StringComparison.OrdinalIgnoreCase));
}));

Console.WriteLine(await kernel.InvokeAsync(plugin.Name, "open", new KernelArguments { ["url"] = "http://shop.demo.test/index.html" }));
Console.WriteLine($"goal: {goal}");
FunctionResult result = await kernel.InvokeAsync(plugin.Name, "do_task", new KernelArguments { ["goal"] = goal, ["max_steps"] = steps });
Console.WriteLine(result.GetValue<string>());
return 0;
