// A Semantic Kernel robot agent without a planner model: RoboticsPlugin's functions are imported into a Kernel and
// invoked through it (kernel.InvokeAsync), so every call passes the kernel's function-invocation filters, which print
// each step. Magma's chat client does not call tools, so no LLM chooses the functions here: the agent loop below
// drives them explicitly (list_tasks -> reset -> observe -> act x N -> run_episode). See README.md for LIBERO set-up.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Plugin;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Python;
using Magma.Samples;
using Magma.Tasks.Decoding;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

const string Usage = """
    Magma robot agent: picks a LIBERO task, steps it through Semantic Kernel functions, runs an episode, writes its video.

    Usage: dotnet run --project samples/Magma.Samples.RobotAgent -c Release -- [options]
      --model DIR        Magma ONNX package fine-tuned for LIBERO (with dataset_statistics.json). Without it: the
                         repository's tiny random-weight model and fake LIBERO (same code path, noise actions).
      --python-lib FILE  libpython3.x.so of the Python that has LIBERO (default: MAGMA_PYTHON_LIBRARY, PYTHONNET_PYDLL,
                         then the system Python). venv: the base interpreter's library, e.g.
                         /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0; conda: <env>/lib/libpython3.X.so.
      --python FILE      that environment's python executable (a venv's <venv>/bin/python): it becomes the embedded
                         interpreter's program name, from which Python finds the venv's site-packages.
      --libero DIR       a LIBERO checkout to put on sys.path (not needed after `pip install -e LIBERO`).
      --suite NAME       suite to list (libero_spatial, libero_object, libero_goal, libero_10, libero_90, libero_100); default all.
      --task TASK        task instruction or 'suite:id' (e.g. libero_goal:1); default: the first task listed.
      --trial N          stored initial state (default 0).
      --steps N          single act steps before the episode (default 3).
      --max-steps N      policy steps of the episode; 0 = the suite's reference limit (default 0; 5 on the fake).
      --videos DIR       where the episode video goes (default out/robot-videos). It shows what the camera sees.
      --plan             also call plan_trace (Trace-of-Mark) on the first frame.
      --fake-libero      use the fake LIBERO even with --model.
      --help             this text.

    Set-up (details in samples/Magma.Samples.RobotAgent/README.md), with Debian's Python 3.11 (LIBERO takes 3.8-3.11):
      sudo apt-get install -y python3-venv libpython3.11
      git clone https://github.com/Lifelong-Robot-Learning/LIBERO
      python3 -m venv ~/libero-env && . ~/libero-env/bin/activate
      pip install -r LIBERO/requirements.txt && pip install -e LIBERO
      python -c "import libero.libero"      # once: LIBERO asks where its datasets go, then writes ~/.libero/config.yaml
      dotnet run --project samples/Magma.Samples.RobotAgent -c Release -- \
        --python-lib /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 --python ~/libero-env/bin/python \
        --model /models/magma-8b-libero-goal-onnx --suite libero_goal
    Rendering: the sample sets MUJOCO_GL=egl (and PYOPENGL_PLATFORM=egl) inside Python unless MUJOCO_GL is exported
    already, e.g. MUJOCO_GL=osmesa without a GPU. PYTHONHOME, if the interpreter cannot find its standard library,
    must be exported in the shell before starting: Python reads it at start-up, before the plugin can set anything.

    Exit codes: 0 done, 1 error (model package, Python, LIBERO), 2 usage, 130 cancelled (Ctrl+C).
    """;

return await SampleCommandLine.RunAsync(
    "robot-agent", Usage, args,
    valueOptions: ["--model", "--python-lib", "--python", "--libero", "--suite", "--task", "--trial", "--steps", "--max-steps", "--videos"],
    flags: ["--plan", "--fake-libero"], positional: false,
    async (line, ct) =>
{
    string? Arg(string name) => line.Value(name);
    int IntArg(string name, int fallback) => line.Int(name, fallback);
    // Numbers first: a typo is a usage error before Python and the model start.
    _ = (IntArg("--trial", 0), IntArg("--steps", 3), IntArg("--max-steps", 0));
    string? modelPath = Arg("--model");
    bool fake = modelPath is null || args.Contains("--fake-libero");
    string? libero = Arg("--libero");

    PythonHost host;
    try
    {
        host = PythonHost.Start(new PythonHostOptions
        {
            LibraryPath = Arg("--python-lib"),
            PythonExecutable = Arg("--python"),
            SysPaths = fake ? [Path.Combine(AppContext.BaseDirectory, "fake_libero")] : libero is null ? [] : [libero],
            // Set inside Python (os.environ) before LIBERO is imported: headless MuJoCo rendering with EGL, unless the
            // shell exported a choice (MUJOCO_GL=osmesa on a machine without a GPU): the interpreter inherits that one.
            EnvironmentVariables = Environment.GetEnvironmentVariable("MUJOCO_GL") is { Length: > 0 }
                ? new Dictionary<string, string>()
                : new Dictionary<string, string> { ["MUJOCO_GL"] = "egl", ["PYOPENGL_PLATFORM"] = "egl" },
        });
    }
    catch (Exception ex) when (ex is FileNotFoundException or DllNotFoundException or InvalidOperationException)
    {
        Console.Error.WriteLine($"robot-agent: {ex.Message} Pass --python-lib and --python (see --help).");
        return SampleCommandLine.Error;
    }

    Console.WriteLine($"Python {host.Version.Split(' ')[0]} from {host.LibraryPath}{(fake ? " (fake LIBERO)" : string.Empty)}");

    await using MagmaModel model = MagmaModel.Load(modelPath ?? Path.Combine(AppContext.BaseDirectory, "tiny-magma"));
    var options = new RoboticsPluginOptions
    {
        Suites = Arg("--suite") is { } s ? [s] : null,
        VideoDirectory = Path.GetFullPath(Arg("--videos") ?? Path.Combine("out", "robot-videos")),
        // The default policy (MagmaPolicy.ForSuite) un-normalises with the package's dataset_statistics.json and samples
        // as the reference does; the tiny package carries placeholder statistics for every suite (its README).
        TraceGeneration = modelPath is null ? new GenerationOptions { MaxNewTokens = 16 } : null,
    };
    await using var plugin = new RoboticsPlugin(host, model, options);

    var kernel = new Kernel();
    kernel.FunctionInvocationFilters.Add(new StepPrinter());
    KernelPlugin robot = kernel.ImportPluginFromObject(plugin, "robot");

    // 1. Pick the task: --task, else the first one list_tasks returns.
    string tasksJson = (await kernel.InvokeAsync(robot["list_tasks"], new() { ["suite"] = Arg("--suite") }, ct)).GetValue<string>()!;
    string task = Arg("--task") ?? FirstTask(tasksJson);
    int trial = IntArg("--trial", 0);

    // 2. Start it and look.
    await kernel.InvokeAsync(robot["reset"], new() { ["task"] = task, ["trial"] = trial }, ct);
    await kernel.InvokeAsync(robot["observe"], cancellationToken: ct);
    if (args.Contains("--plan"))
    {
        await kernel.InvokeAsync(robot["plan_trace"], new() { ["instruction"] = plugin.CurrentTask!.Language }, ct);
    }

    // 3. A few single steps (what a planner would do one call at a time), stopping on success.
    for (int i = 0, n = IntArg("--steps", 3); i < n; i++)
    {
        string act = (await kernel.InvokeAsync(robot["act"], cancellationToken: ct)).GetValue<string>()!;
        using JsonDocument step = JsonDocument.Parse(act);
        if (step.RootElement.GetProperty("done").GetBoolean())
        {
            break;
        }
    }

    // 4. A whole episode with the reference protocol, recorded.
    string episode = (await kernel.InvokeAsync(robot["run_episode"], new()
    {
        ["instruction"] = task,
        ["maxSteps"] = IntArg("--max-steps", fake ? 5 : 0),
        ["trial"] = trial,
    }, ct)).GetValue<string>()!;
    using JsonDocument result = JsonDocument.Parse(episode);
    Console.WriteLine(result.RootElement.GetProperty("success").GetBoolean() ? "Task succeeded." : "Task not achieved.");
    if (result.RootElement.TryGetProperty("video_path", out JsonElement video) && video.ValueKind == JsonValueKind.String)
    {
        Console.WriteLine($"Video: {video.GetString()}");
    }

    return SampleCommandLine.Success;

    static string FirstTask(string tasksJson)
    {
        using JsonDocument doc = JsonDocument.Parse(tasksJson);
        JsonElement first = doc.RootElement.EnumerateArray().FirstOrDefault();
        return first.ValueKind == JsonValueKind.Object
            ? string.Create(CultureInfo.InvariantCulture, $"{first.GetProperty("suite").GetString()}:{first.GetProperty("task_id").GetInt32()}")
            : throw new InvalidOperationException("list_tasks returned no task: is LIBERO installed in this Python environment?");
    }
}, isExpected: e => e is PythonErrorException);

/// <summary>Prints every kernel function call: its arguments before, its result and duration after.</summary>
internal sealed class StepPrinter : IFunctionInvocationFilter
{
    public async Task OnFunctionInvocationAsync(FunctionInvocationContext context, Func<FunctionInvocationContext, Task> next)
    {
        string call = $"{context.Function.PluginName}.{context.Function.Name}({string.Join(", ", context.Arguments.Select(a => $"{a.Key}={a.Value}"))})";
        Console.WriteLine($"-> {call}");
        var watch = Stopwatch.StartNew();
        try
        {
            await next(context);
        }
        catch (Exception ex)
        {
            Console.WriteLine($"<- {context.Function.Name} failed after {watch.ElapsedMilliseconds} ms: {ex.Message}");
            throw;
        }

        Console.WriteLine($"<- {context.Function.Name} ({watch.ElapsedMilliseconds} ms): {Describe(context.Result.GetValue<object>())}");
    }

    private static string Describe(object? value) => value switch
    {
        ChatMessageContentItemCollection items => string.Join(" + ", items.Select(i => i switch
        {
            TextContent t => Shorten(t.Text ?? string.Empty),
            ImageContent { Data: { } data } img => $"[{img.MimeType} image, {data.Length} bytes]",
            _ => i.GetType().Name,
        })),
        string text => Shorten(text),
        null => "(nothing)",
        _ => value.ToString() ?? string.Empty,
    };

    private static string Shorten(string text) => text.Length <= 400 ? text : string.Concat(text.AsSpan(0, 400), "...");
}
