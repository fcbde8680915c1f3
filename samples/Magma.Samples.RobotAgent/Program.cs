// A Semantic Kernel robot agent: loads Magma, starts Python with LIBERO, imports RoboticsPlugin into a Kernel,
// picks a LIBERO task and runs it step by step through the kernel functions, printing each step, then runs a
// whole episode with a video.
//
// Install LIBERO into a Python environment first (LIBERO's own instructions):
//   git clone https://github.com/Lifelong-Robot-Learning/LIBERO && cd LIBERO
//   python -m venv ~/libero-env && . ~/libero-env/bin/activate   (or a conda env with Python 3.8-3.11)
//   pip install -r requirements.txt && pip install -e .
// Then point the sample at that environment:
//   dotnet run --project samples/Magma.Samples.RobotAgent -c Release -- \
//     --python-lib /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 --python ~/libero-env/bin/python \
//     --model /models/magma-8b-libero-goal-onnx --task "put the bowl on the stove"
// Headless MuJoCo needs MUJOCO_GL=egl (set for you inside Python). Without arguments it runs the repository's
// fake LIBERO and tiny random-weight Magma: same code path, noise actions.
using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Decoding;
using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Plugin;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Python;
using Microsoft.SemanticKernel;

string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
string? modelPath = Arg("--model");
string? pythonLib = Arg("--python-lib");
string? python = Arg("--python");
string? libero = Arg("--libero");
string task = Arg("--task") ?? "libero_goal:1";
int steps = int.Parse(Arg("--steps") ?? "5", System.Globalization.CultureInfo.InvariantCulture);
bool fake = modelPath is null || args.Contains("--fake-libero");

var host = PythonHost.Start(new PythonHostOptions
{
    LibraryPath = pythonLib,
    PythonExecutable = python,
    SysPaths = fake ? [Path.Combine(AppContext.BaseDirectory, "fake_libero")] : libero is null ? [] : [libero],
    EnvironmentVariables = new Dictionary<string, string> { ["MUJOCO_GL"] = "egl", ["PYOPENGL_PLATFORM"] = "egl" },
});
Console.WriteLine($"Python {host.Version.Split(' ')[0]} from {host.LibraryPath}{(fake ? " (fake LIBERO)" : string.Empty)}");

await using MagmaModel model = MagmaModel.Load(modelPath ?? Path.Combine(AppContext.BaseDirectory, "tiny-magma"));
var options = new RoboticsPluginOptions
{
    VideoDirectory = Path.Combine(Environment.CurrentDirectory, "robot-videos"),
    // A real LIBERO checkpoint ships dataset_statistics.json: the default policy (MagmaPolicy.ForSuite) uses it.
    // The tiny model has none, so it gets LIBERO-like statistics and greedy decoding.
    PolicyFactory = modelPath is not null ? null : _ => new MagmaPolicy(model,
        RobotActionDecoder.ForLibero(new ActionStatistics([-0.9, -0.9, -0.9, -0.3, -0.3, -0.3, 0], [0.9, 0.9, 0.9, 0.3, 0.3, 0.3, 1], [true, true, true, true, true, true, false])),
        new MagmaPolicyOptions { Generation = GenerationOptions.Greedy }),
};
await using var plugin = new RoboticsPlugin(host, model, options);
var kernel = new Kernel();
KernelPlugin robot = kernel.ImportPluginFromObject(plugin, "robot");

string tasks = (await kernel.InvokeAsync(robot["list_tasks"], new() { ["suite"] = "libero_goal" })).GetValue<string>()!;
Console.WriteLine($"Tasks: {tasks}");
Console.WriteLine($"Reset: {(await kernel.InvokeAsync(robot["reset"], new() { ["task"] = task })).GetValue<string>()}");
for (int i = 0; i < steps; i++)
{
    string act = (await kernel.InvokeAsync(robot["act"])).GetValue<string>()!;
    Console.WriteLine($"act -> {act}");
    if (JsonDocument.Parse(act).RootElement.GetProperty("done").GetBoolean())
    {
        break;
    }
}

string episode = (await kernel.InvokeAsync(robot["run_episode"], new() { ["instruction"] = task, ["maxSteps"] = steps })).GetValue<string>()!;
Console.WriteLine($"run_episode -> {episode}");
