using Magma.Inference;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Safety;
using Magma.Samples;
using Microsoft.SemanticKernel;

const string Usage = """
    Magma web agent: a Semantic Kernel kernel with the Magma web plugin opens a local demo shop (served by this program
    through browser routing, no port) and carries out a multi-step task with do_task, in headless Chromium.

    Usage: dotnet run --project samples/Magma.Samples.WebAgent -c Release -- [options]
      --model DIR      an exported Magma ONNX package. Without it: the repository's tiny random-weight model, whose
                       choices are noise (expect "invalid answer" steps; the browser, marks, safety and trace are real).
      --goal TEXT      the task (default: order the Earl grey for ada@example.com).
      --steps N        most model steps (default 6).
      --out DIR        where the trace goes (default out/web-traces; open its index.html).
      --yes            approve irreversible actions (default: ask on the console; deny when there is none).
      --help           this text.

    Needs Debian's Chromium: sudo apt-get install -y chromium (or set MAGMA_CHROMIUM to a Chromium binary).
    Exit codes: 0 done, 1 error (model package, browser), 2 usage, 130 cancelled (Ctrl+C).
    """;

return await SampleCommandLine.RunAsync(
    "web-agent", Usage, args, valueOptions: ["--model", "--goal", "--steps", "--out"], flags: ["--yes"], positional: false,
    async (line, ct) =>
{
    string modelDir = line.Value("--model") ?? Path.Combine(AppContext.BaseDirectory, "tiny-magma");
    string goal = line.Value("--goal") ?? "Add the Earl grey to the basket, open the basket and place the order for ada@example.com.";
    int steps = line.Int("--steps", 6, minimum: 1);
    bool yes = line.Flag("--yes");

    // The browser first: on a fresh machine a missing Chromium is the likeliest failure, and its message says which package
    // to install; print it as one line rather than an unhandled-exception stack.
    WebSession launched;
    try
    {
        launched = await WebSession.LaunchAsync(new WebSessionOptions
        {
            LocalSites = new Dictionary<string, string> { ["http://shop.demo.test"] = Path.Combine(AppContext.BaseDirectory, "site") },
        }, ct);
    }
    catch (Exception ex) when (ex is WebPolicyException or Microsoft.Playwright.PlaywrightException)
    {
        Console.Error.WriteLine($"web-agent: {ex.Message}");
        if (ex is Microsoft.Playwright.PlaywrightException)
        {
            Console.Error.WriteLine("web-agent: Chromium was found but did not start. On Debian: sudo apt-get install -y chromium (it brings the libraries it needs); or set MAGMA_CHROMIUM to a working Chromium binary.");
        }

        return SampleCommandLine.Error;
    }

    await using WebSession session = launched;
    Console.WriteLine($"browser: Chromium {session.BrowserVersion}");
    using MagmaModel model = MagmaModel.Load(modelDir);
    // The package says what it is (magma.json "description"): a tiny model must not pass for Magma-8B.
    Console.WriteLine($"model: {model.Package.Manifest.ModelId} ({modelDir})");
    if (model.Package.Manifest.Description is string about)
    {
        Console.WriteLine($"about the model: {about}");
    }

    string traceRoot = Path.GetFullPath(line.Value("--out") ?? Path.Combine("out", "web-traces"));
    var plugin = new WebPlugin(session, model) { TraceRoot = traceRoot };
    plugin.StepCompleted += (_, s) => Console.WriteLine(
        $"step {s.Index}: {s.Decision} -> {s.Outcome}  [observe {s.Observation.Timings.TotalMs:0} ms, model {s.Decision.ModelMs:0} ms, act {s.ActMs:0} ms]");

    Kernel kernel = Kernel.CreateBuilder().Build();
    kernel.Plugins.AddFromObject(plugin, plugin.Name);
    kernel.FunctionInvocationFilters.Add(new WebConfirmationFilter(plugin, (request, _) =>
    {
        Console.Write($"APPROVE? {request.Reason} on {request.Url} [y/N] ");
        if (yes) { Console.WriteLine("y (--yes)"); return Task.FromResult(true); }
        string? answer = Console.IsInputRedirected ? null : Console.ReadLine();
        if (answer is null) { Console.WriteLine("(no console: denied)"); }
        return Task.FromResult(string.Equals(answer?.Trim(), "y", StringComparison.OrdinalIgnoreCase));
    }));

    Console.WriteLine(await kernel.InvokeAsync(plugin.Name, "open", new KernelArguments { ["url"] = "http://shop.demo.test/index.html" }, ct));
    Console.WriteLine($"goal: {goal}");
    FunctionResult result = await kernel.InvokeAsync(plugin.Name, "do_task", new KernelArguments { ["goal"] = goal, ["max_steps"] = steps }, ct);
    Console.WriteLine(result.GetValue<string>());
    return SampleCommandLine.Success;
});
