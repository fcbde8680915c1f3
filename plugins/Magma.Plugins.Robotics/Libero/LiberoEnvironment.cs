using System.Globalization;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Python;
using Python.Runtime;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// One LIBERO task environment (<c>OffScreenRenderEnv</c>) living on its own OS thread: every call is marshalled to
/// that thread, whatever thread the caller is on, because MuJoCo renders black frames from any other thread.
/// Several environments can run in parallel, each on its own thread.
/// </summary>
public sealed class LiberoEnvironment : IAsyncDisposable
{
    private readonly PythonHost _host;
    private readonly DedicatedThread _thread;
    private readonly LiberoEnvironmentOptions _options;
    private readonly FrameBufferPool _frames = new();
    private PyObject? _env;
    private PyObject? _initStates;
    private bool _disposed;

    private LiberoEnvironment(PythonHost host, DedicatedThread thread, LiberoEnvironmentOptions options, LiberoTask task)
    {
        _host = host;
        _thread = thread;
        _options = options;
        Task = task;
    }

    /// <summary>The task this environment runs.</summary>
    public LiberoTask Task { get; }

    /// <summary>The bounds actions are checked against.</summary>
    public LiberoActionSpace ActionSpace => _options.ActionSpace;

    /// <summary>The managed id of the environment's thread (diagnostics, tests).</summary>
    public int ThreadId => _thread.ManagedThreadId;

    /// <summary>
    /// Creates the environment of task <paramref name="taskId"/> of <paramref name="suite"/> on a new thread:
    /// <c>OffScreenRenderEnv(bddl_file_name=..., camera_heights=R, camera_widths=R)</c>, then <c>env.seed(seed)</c>.
    /// </summary>
    /// <exception cref="PythonErrorException">LIBERO is missing, the suite or task does not exist, or the env failed to start.</exception>
    public static async Task<LiberoEnvironment> CreateAsync(
        PythonHost host, string suite, int taskId, LiberoEnvironmentOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentException.ThrowIfNullOrEmpty(suite);
        options ??= new LiberoEnvironmentOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Resolution);
        var thread = new DedicatedThread(string.Create(CultureInfo.InvariantCulture, $"LIBERO {suite}/{taskId}"));
        try
        {
            (PyObject env, PyObject init, LiberoTask task) = await thread.InvokeAsync(
                () => host.Invoke($"OffScreenRenderEnv for {suite} task {taskId}", () =>
                {
                    using var s = new PyString(suite);
                    using var t = new PyInt(taskId);
                    using var r = new PyInt(options.Resolution);
                    using var seed = new PyInt(options.Seed);
                    using PyObject result = LiberoBridge.Module.InvokeMethod("open_env", s, t, r, seed);
                    using PyObject info = result[2];
                    return (result[0], result[1], LiberoBridge.ToTask(suite, taskId, info));
                }),
                cancellationToken).ConfigureAwait(false);
            return new LiberoEnvironment(host, thread, options, task) { _env = env, _initStates = init };
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts an episode: <c>env.reset()</c>, then <c>obs = env.set_init_state(init_states[initStateIndex])</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">There is no such stored init state.</exception>
    /// <exception cref="PythonErrorException">LIBERO raised.</exception>
    public Task<LiberoObservation> ResetAsync(int initStateIndex, CancellationToken cancellationToken = default)
    {
        if (initStateIndex < 0 || initStateIndex >= Task.InitStateCount)
        {
            throw new ArgumentOutOfRangeException(
                nameof(initStateIndex), initStateIndex,
                $"{Task.Suite} task {Task.TaskId} has {Task.InitStateCount} stored init states (0..{Task.InitStateCount - 1}).");
        }

        return OnThread("env.reset + env.set_init_state", () =>
        {
            using var index = new PyInt(initStateIndex);
            using var wrist = new PyInt(_options.ReadWristView ? 1 : 0);
            using PyObject parts = LiberoBridge.Module.InvokeMethod("reset", _env!, _initStates!, index, wrist);
            return ReadParts(parts);
        }, cancellationToken);
    }

    /// <summary>
    /// Sends one 7-D action (<c>env.step(list)</c>) after checking it against <see cref="ActionSpace"/>.
    /// </summary>
    /// <exception cref="InvalidRobotActionException">The action is not 7 finite values within bounds; nothing was sent.</exception>
    /// <exception cref="PythonErrorException">LIBERO raised inside <c>step</c>.</exception>
    public Task<LiberoStep> StepAsync(IReadOnlyList<double> action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        double[] copy = [.. action];
        _options.ActionSpace.Validate(copy);
        return OnThread("env.step", () => StepCore(copy), cancellationToken);
    }

    /// <summary><c>env.check_success()</c>.</summary>
    public Task<bool> CheckSuccessAsync(CancellationToken cancellationToken = default) =>
        OnThread("env.check_success", () =>
        {
            using PyObject ok = LiberoBridge.Module.InvokeMethod("check_success", _env!);
            return ok.As<bool>();
        }, cancellationToken);

    /// <summary>Steps synchronously on the calling thread, which must be the environment's (benchmarks).</summary>
    internal LiberoStep StepOnOwnThread(double[] action) => StepCore(action);

    internal Task<T> RunOnThread<T>(Func<T> work) => _thread.InvokeAsync(work);

    /// <summary>The Python env object (tests inspect the fake's record of received actions; GIL required).</summary>
    internal PyObject? PythonEnv => _env;

    private LiberoStep StepCore(double[] action)
    {
        return _host.Invoke("env.step", () =>
        {
            using var list = new PyList();
            foreach (double v in action)
            {
                using var f = new PyFloat(v);
                list.Append(f);
            }

            using var wrist = new PyInt(_options.ReadWristView ? 1 : 0);
            using PyObject result = LiberoBridge.Module.InvokeMethod("step", _env!, list, wrist);
            using PyObject parts = result[0];
            using PyObject reward = result[1];
            using PyObject done = result[2];
            return new LiberoStep(ReadParts(parts), reward.As<double>(), done.As<bool>());
        });
    }

    private Task<T> OnThread<T>(string operation, Func<T> work, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _thread.InvokeAsync(() => _host.Invoke(operation, work), cancellationToken);
    }

    private LiberoObservation ReadParts(PyObject parts)
    {
        using PyObject agent = parts[0];
        using PyObject wrist = parts[1];
        using PyObject pos = parts[2];
        using PyObject quat = parts[3];
        using PyObject qpos = parts[4];
        RgbImage agentView = NumpyReader.ReadImage(agent, "agentview_image", _frames);
        RgbImage? wristView = null;
        try
        {
            wristView = wrist.IsNone() ? null : NumpyReader.ReadImage(wrist, "robot0_eye_in_hand_image", _frames);
            return new LiberoObservation(
                agentView,
                wristView,
                NumpyReader.ReadDoubles(pos, "robot0_eef_pos"),
                NumpyReader.ReadDoubles(quat, "robot0_eef_quat"),
                NumpyReader.ReadDoubles(qpos, "robot0_gripper_qpos"),
                _frames);
        }
        catch
        {
            // The frames never reached an observation: nothing else holds these arrays.
            _frames.Return(ArrayOf(agentView));
            _frames.Return(wristView is null ? null : ArrayOf(wristView));
            throw;
        }
    }

    private static byte[] ArrayOf(RgbImage image) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(image.Pixels, out ArraySegment<byte> segment) ? segment.Array! : [];

    /// <summary>Frame arrays allocated so far because the pool had none of the size (benchmarks, tests: flat in steady state).</summary>
    internal int FrameAllocations => _frames.Allocations;

    /// <summary>Frame arrays held by observations not yet disposed (tests: bounded across many steps, else a leak).</summary>
    internal int FrameBuffersInUse => _frames.Outstanding;

    /// <summary>Closes the environment (<c>env.close()</c>) on its thread, then ends the thread.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await _thread.InvokeAsync(() => _host.Invoke("env.close", () =>
            {
                try
                {
                    if (_env is not null)
                    {
                        LiberoBridge.Module.InvokeMethod("close", _env).Dispose();
                    }
                }
                finally
                {
                    _env?.Dispose();
                    _initStates?.Dispose();
                }

                return 0;
            })).ConfigureAwait(false);
        }
        finally
        {
            _thread.Dispose();
        }
    }
}
