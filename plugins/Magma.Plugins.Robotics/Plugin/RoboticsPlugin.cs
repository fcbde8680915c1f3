using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Evaluation;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Python;
using Magma.Tasks;
using Magma.Tasks.Decoding;
using Magma.Tasks.Marks;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Magma.Plugins.Robotics.Plugin;

/// <summary>
/// Semantic Kernel functions for a LIBERO robot driven by Magma: list tasks, reset to a task, observe, act one step,
/// run an episode, and plan a Trace-of-Mark on the current frame. One current environment at a time; every call to
/// it is marshalled to its own thread, so SK may resume on any pool thread. Calls are serialised.
/// </summary>
public sealed class RoboticsPlugin : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly PythonHost _host;
    private readonly MagmaModel _model;
    private readonly RoboticsPluginOptions _options;
    private readonly LiberoBenchmark _benchmark;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LiberoEnvironment? _env;
    private IRobotPolicy? _policy;
    private LiberoObservation? _obs;
    private int _step;
    private bool _done;

    /// <summary>Creates the plugin.</summary>
    public RoboticsPlugin(PythonHost host, MagmaModel model, RoboticsPluginOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(model);
        _host = host;
        _model = model;
        _options = options ?? new RoboticsPluginOptions();
        _benchmark = new LiberoBenchmark(host);
    }

    /// <summary>The task of the current environment, or null before <c>reset</c>.</summary>
    public LiberoTask? CurrentTask => _env?.Task;

    /// <summary>Lists LIBERO tasks.</summary>
    [KernelFunction("list_tasks")]
    [Description("Lists the LIBERO robot tasks: JSON array of {suite, task_id, instruction, init_states}.")]
    public async Task<string> ListTasksAsync(
        [Description("Suite to list (libero_spatial, libero_object, libero_goal, libero_10, libero_90, libero_100); all when empty.")] string? suite = null,
        CancellationToken cancellationToken = default)
    {
        var list = new List<object>();
        foreach (string s in string.IsNullOrWhiteSpace(suite) ? await SuitesAsync(cancellationToken).ConfigureAwait(false) : [suite])
        {
            foreach (LiberoTask t in await _benchmark.ListTasksAsync(s, cancellationToken).ConfigureAwait(false))
            {
                list.Add(new { t.Suite, t.TaskId, Instruction = t.Language, InitStates = t.InitStateCount });
            }
        }

        return JsonSerializer.Serialize(list, Json);
    }

    /// <summary>Starts a task: creates its environment and resets it to a stored init state.</summary>
    [KernelFunction("reset")]
    [Description("Starts a LIBERO task, named by its instruction or as 'suite:task_id' (e.g. 'libero_goal:1'), at a stored initial state. Returns the robot state as JSON.")]
    public async Task<string> ResetAsync(
        [Description("The task's instruction, or 'suite:task_id'.")] string task,
        [Description("Stored initial state to start from (default 0).")] int trial = 0,
        CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            LiberoTask found = await ResolveAsync(task, cancellationToken).ConfigureAwait(false);
            await UseEnvironmentAsync(found, cancellationToken).ConfigureAwait(false);
            LiberoObservation obs = await _env!.ResetAsync(trial, cancellationToken).ConfigureAwait(false);
            ReplaceObservation(obs);
            await _policy!.ResetAsync(found.Language, cancellationToken).ConfigureAwait(false);
            _step = 0;
            _done = false;
            return State();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Returns the current camera frame (as the camera sees it) and the robot state.</summary>
    [KernelFunction("observe")]
    [Description("Looks at the robot's scene: returns the third-person camera image and the robot state (end-effector position, gripper, step, done).")]
    public async Task<ChatMessageContentItemCollection> ObserveAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            LiberoObservation obs = RequireObservation();
            return
            [
                new TextContent(State()),
                new ImageContent(obs.CameraView.EncodePng(), "image/png"),
            ];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One policy step on the current task.</summary>
    [KernelFunction("act")]
    [Description("Takes one robot step: Magma predicts a 7-D action [dx, dy, dz, droll, dpitch, dyaw, gripper] from the camera and the instruction and the simulator executes it. Returns the action and whether the task is done.")]
    public async Task<string> ActAsync(
        [Description("The instruction; the current task's when empty.")] string? instruction = null,
        CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            LiberoObservation obs = RequireObservation();
            string text = string.IsNullOrWhiteSpace(instruction) ? _env!.Task.Language : instruction;
            PolicyDecision decision = await _policy!.ActAsync(obs, text, cancellationToken).ConfigureAwait(false);
            LiberoStep step = await _env!.StepAsync(decision.Action, cancellationToken).ConfigureAwait(false);
            // The policy has returned, so nothing reads the previous frames any more: their buffers go back.
            ReplaceObservation(step.Observation);
            _step++;
            _done |= step.Done;
            return JsonSerializer.Serialize(new { Step = _step, decision.Action, Done = step.Done, Tokens = decision.Decoded?.TokenIds }, Json);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs a whole episode with the reference protocol.</summary>
    [KernelFunction("run_episode")]
    [Description("Runs a whole LIBERO episode for a task (reference protocol: 10 wait steps, then Magma acts until success or the step limit). Returns success, steps and the video path as JSON.")]
    public async Task<string> RunEpisodeAsync(
        [Description("The task's instruction, or 'suite:task_id'.")] string instruction,
        [Description("Most policy steps; 0 for the suite's reference limit.")] int maxSteps = 0,
        [Description("Stored initial state (default 0).")] int trial = 0,
        CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            LiberoTask task = await ResolveAsync(instruction, cancellationToken).ConfigureAwait(false);
            await UseEnvironmentAsync(task, cancellationToken).ConfigureAwait(false);
            // The episode resets the environment with observations of its own (disposed by the runner).
            ReplaceObservation(null);

            string? video = _options.VideoDirectory is null ? null : Path.Combine(
                _options.VideoDirectory, string.Create(CultureInfo.InvariantCulture, $"{task.Suite}_task{task.TaskId:D2}_trial{trial:D2}_{DateTime.UtcNow:yyyyMMddHHmmss}.mp4"));
            EpisodeResult result = await EpisodeRunner.RunAsync(
                _env!, _policy!, trial, new EpisodeOptions { MaxSteps = maxSteps > 0 ? maxSteps : null, VideoPath = video }, null, cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Serialize(new { result.Suite, result.TaskId, result.Instruction, result.Success, result.Steps, result.Error, result.VideoPath }, Json);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Trace-of-Mark planning on the current frame.</summary>
    [KernelFunction("plan_trace")]
    [Description("Plans with Magma's Trace-of-Mark how points in the current camera image should move to do the instruction. Returns JSON with each mark's future positions in pixels and the image with the traces drawn; JSON with 'error' when the answer cannot be parsed.")]
    public async Task<ChatMessageContentItemCollection> PlanTraceAsync(
        [Description("What the robot should do.")] string instruction,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            RgbImage frame = RequireObservation().CameraView;
            int[] marks = [.. Enumerable.Range(1, Math.Max(1, _options.TraceMarks))];
            DecodeResult<TracePlan> plan = await _model.PlanTraceAsync(
                frame, marks, instruction, options: _options.TraceGeneration, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (plan.Value is not { } p)
            {
                return [new TextContent(JsonSerializer.Serialize(new { Error = plan.FailureReason, RawAnswer = plan.RawText }, Json))];
            }

            var traceMarks = p.Traces.Where(t => t.PixelPoints.Count > 0)
                .Select(t => new TraceMark(t.MarkId, V(t.PixelPoints[0]), [.. t.PixelPoints.Select(V)])).ToList();
            RgbImage drawn = new TraceRenderer().Draw(frame, traceMarks);
            var json = JsonSerializer.Serialize(
                new { Traces = p.Traces.Select(t => new { Mark = t.MarkId, Points = t.PixelPoints.Select(q => new[] { q.X, q.Y }) }), Steps = p.StepCount }, Json);
            return [new TextContent(json), new ImageContent(drawn.EncodePng(), "image/png")];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Closes the current environment.</summary>
    public async ValueTask DisposeAsync()
    {
        ReplaceObservation(null);
        if (_env is not null)
        {
            await _env.DisposeAsync().ConfigureAwait(false);
            _env = null;
        }

        _gate.Dispose();
    }

    /// <summary>The current environment (tests check its frame buffers are handed back).</summary>
    internal LiberoEnvironment? Environment => _env;

    private async Task UseEnvironmentAsync(LiberoTask task, CancellationToken cancellationToken)
    {
        if (_env is not null && _env.Task == task)
        {
            return;
        }

        ReplaceObservation(null);
        if (_env is not null)
        {
            LiberoEnvironment old = _env;
            _env = null;
            _policy = null;
            await old.DisposeAsync().ConfigureAwait(false);
        }

        _env = await LiberoEnvironment.CreateAsync(_host, task.Suite, task.TaskId, _options.Environment, cancellationToken).ConfigureAwait(false);
        _policy = CreatePolicy(task);
    }

    // The plugin owns the current observation: every replaced one is disposed, so its pooled frame buffers (agent
    // view, upright view, model frame) serve the next step instead of leaking to the GC one 196 KB array at a time.
    private void ReplaceObservation(LiberoObservation? next)
    {
        LiberoObservation? previous = _obs;
        _obs = next;
        if (!ReferenceEquals(previous, next))
        {
            previous?.Dispose();
        }
    }

    private static Vector2 V(PixelPoint p) => new((float)p.X, (float)p.Y);

    private IRobotPolicy CreatePolicy(LiberoTask task) =>
        _options.PolicyFactory?.Invoke(task) ?? MagmaPolicy.ForSuite(_model, task.Suite);

    private LiberoObservation RequireObservation() =>
        _obs ?? throw new InvalidOperationException("No current observation: call reset with a task first.");

    private string State()
    {
        LiberoObservation obs = RequireObservation();
        return JsonSerializer.Serialize(new
        {
            _env!.Task.Suite,
            _env.Task.TaskId,
            Instruction = _env.Task.Language,
            Step = _step,
            Done = _done,
            EefPosition = obs.EefPosition,
            GripperPositions = obs.GripperPositions,
        }, Json);
    }

    private async Task<IReadOnlyList<string>> SuitesAsync(CancellationToken cancellationToken) =>
        _options.Suites ?? await _benchmark.ListSuitesAsync(cancellationToken).ConfigureAwait(false);

    private async Task<LiberoTask> ResolveAsync(string task, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        string[] parts = task.Split(':', 2, StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
        {
            IReadOnlyList<LiberoTask> tasks = await _benchmark.ListTasksAsync(parts[0], cancellationToken).ConfigureAwait(false);
            return id >= 0 && id < tasks.Count
                ? tasks[id]
                : throw new ArgumentException($"'{task}': {parts[0]} has tasks 0..{tasks.Count - 1}.", nameof(task));
        }

        return await _benchmark.FindTaskAsync(task, await SuitesAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
            ?? throw new ArgumentException($"No LIBERO task has the instruction '{task}'. Call list_tasks for the instructions, or name it as 'suite:task_id'.", nameof(task));
    }
}
