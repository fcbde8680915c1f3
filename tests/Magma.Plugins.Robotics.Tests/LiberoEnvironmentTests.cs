using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Python;
using Python.Runtime;

namespace Magma.Plugins.Robotics.Tests;

[Collection(PythonTests.Name)]
public sealed class LiberoEnvironmentTests(PythonFixture fixture)
{
    internal static readonly double[] Right = [1, 0, 0, 0, 0, 0, -1];

    [Fact]
    public async Task Lists_suites_and_tasks_with_language_and_init_states()
    {
        var benchmark = new LiberoBenchmark(fixture.Host);
        IReadOnlyList<string> suites = await benchmark.ListSuitesAsync();
        Assert.Equal(["libero_spatial", "libero_object", "libero_goal", "libero_10", "libero_90", "libero_100"], suites);
        IReadOnlyList<LiberoTask> tasks = await benchmark.ListTasksAsync("libero_goal");
        Assert.Equal(3, tasks.Count);
        Assert.Equal("put the bowl on the stove", tasks[1].Language);
        Assert.Equal(1, tasks[1].TaskId);
        Assert.Equal(5, tasks[1].InitStateCount);
        Assert.True(File.Exists(tasks[1].BddlFile));
        LiberoTask? found = await benchmark.FindTaskAsync("Put the bowl on the stove");
        Assert.Equal(tasks[1], found);
    }

    [Fact]
    public async Task Unknown_suite_is_a_python_error_naming_the_known_ones()
    {
        var ex = await Assert.ThrowsAsync<PythonErrorException>(() => new LiberoBenchmark(fixture.Host).ListTasksAsync("libero_nope"));
        Assert.Equal("KeyError", ex.PythonType);
        Assert.Contains("libero_goal", ex.PythonMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Frames_arrive_as_rendered_the_camera_view_is_true_and_the_model_frame_is_rotated_in_rgb_order()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        LiberoObservation obs = await env.ResetAsync(0);
        Assert.Equal(256, obs.AgentView.Width);
        Assert.Equal(256, obs.AgentView.Height);
        // As rendered (rows bottom to top): the scene's top-left red block is at the bottom-left, not mirrored.
        AssertColor(obs.AgentView, 5, 250, (255, 0, 0), 0);
        AssertColor(obs.AgentView, 250, 250, (0, 255, 0), 0);
        // The camera's true view: red top-left, green top-right, blue bottom-left (left and right differ).
        AssertColor(obs.CameraView, 5, 5, (255, 0, 0), 0);
        AssertColor(obs.CameraView, 250, 5, (0, 255, 0), 0);
        AssertColor(obs.CameraView, 5, 250, (0, 0, 255), 0);
        // Rotated 180° (the model's orientation, as the reference feeds it): upright but mirrored left to right.
        AssertColor(obs.RotatedAgentView, 250, 5, (255, 0, 0), 0);
        AssertColor(obs.RotatedAgentView, 5, 5, (0, 255, 0), 0);
        AssertColor(obs.RotatedAgentView, 250, 250, (0, 0, 255), 0);
        // The model frame went through the JPEG round-trip too: the rotated layout within codec error.
        Assert.Equal(256, obs.ModelFrame.Width);
        AssertColor(obs.ModelFrame, 247, 8, (255, 0, 0), 12);
        AssertColor(obs.ModelFrame, 8, 8, (0, 255, 0), 12);
        AssertColor(obs.ModelFrame, 247, 247, (0, 0, 255), 12);
        Assert.Equal([0.0, 0.0, 0.0], obs.EefPosition);
        Assert.Equal(4, obs.EefQuaternion.Count);
        Assert.Equal(2, obs.GripperPositions.Count);
        Assert.NotNull(obs.WristView);
    }

    [Fact]
    public async Task Frame_depends_on_state_after_steps()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        LiberoObservation start = await env.ResetAsync(4);
        AssertColor(start.CameraView, 128, 128, (255, 255, 255), 0);
        LiberoStep step = await env.StepAsync(Right);
        // x moved by 0.05 -> the marker moved 20 px right; the old spot is background again.
        Assert.Equal(0.05, step.Observation.EefPosition[0], 12);
        AssertColor(step.Observation.CameraView, 148, 128, (255, 255, 255), 0);
        AssertColor(step.Observation.CameraView, 128 - 5, 128, (40, 40, 40), 0);
        Assert.False(step.Done);
    }

    [Fact]
    public async Task Actions_arrive_in_the_simulator_unchanged()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        await env.ResetAsync(4);
        double[] action = [0.123456789012345, -0.5, 1.0, -1.0, 0.25, 1e-9, 1.0];
        await env.StepAsync(action);
        double[] received = await ReceivedActionAsync(env, 0);
        Assert.Equal(action, received);
    }

    [Theory]
    [InlineData(new[] { 0.0, 0, 0, 0, 0, 0 }, "7 values")]
    [InlineData(new[] { 0.0, 0, 0, 0, 0, 0, 0, 0 }, "7 values")]
    [InlineData(new[] { 1.5, 0, 0, 0, 0, 0, -1 }, "dimension 0 = 1.5 is outside [-1, 1]")]
    [InlineData(new[] { 0, double.NaN, 0, 0, 0, 0, -1 }, "dimension 1 is not finite")]
    [InlineData(new[] { 0, 0, 0, 0, 0, double.PositiveInfinity, -1 }, "dimension 5 is not finite")]
    public async Task Invalid_actions_never_reach_the_simulator(double[] action, string expected)
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        await env.ResetAsync(0);
        var ex = await Assert.ThrowsAsync<InvalidRobotActionException>(() => env.StepAsync(action));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, await ReceivedCountAsync(env));
    }

    [Fact]
    public async Task Exception_inside_step_is_a_clear_dotnet_error()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 2);
        await env.ResetAsync(1);
        await env.StepAsync(LiberoActionSpace.DummyAction);
        await env.StepAsync(LiberoActionSpace.DummyAction);
        var ex = await Assert.ThrowsAsync<PythonErrorException>(() => env.StepAsync(LiberoActionSpace.DummyAction));
        Assert.Equal("RuntimeError", ex.PythonType);
        Assert.Equal("env.step", ex.Operation);
        Assert.Contains("fault injected at step 3", ex.PythonMessage, StringComparison.Ordinal);
        Assert.Contains("envs/__init__.py", ex.PythonTraceback, StringComparison.Ordinal);
        // The environment stays usable after the error.
        LiberoObservation again = await env.ResetAsync(0);
        Assert.Equal(256, again.AgentView.Width);
    }

    [Fact]
    public async Task Success_is_done_and_check_success_agrees()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        await env.ResetAsync(0);
        Assert.False((await env.StepAsync(Right)).Done);
        Assert.False((await env.StepAsync(Right)).Done);
        LiberoStep third = await env.StepAsync(Right);
        Assert.True(third.Done);
        Assert.Equal(1.0, third.Reward);
        Assert.True(await env.CheckSuccessAsync());
    }

    [Fact]
    public async Task Stepping_from_pool_threads_still_returns_rendered_frames()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        await env.ResetAsync(4);
        var threads = new HashSet<int>();
        for (int i = 0; i < 8; i++)
        {
            // Each call starts from a different pool thread; the environment still steps on its own thread.
            LiberoStep step = await Task.Run(async () =>
            {
                lock (threads)
                {
                    threads.Add(Environment.CurrentManagedThreadId);
                }

                return await env.StepAsync(LiberoActionSpace.DummyAction).ConfigureAwait(false);
            });
            AssertColor(step.Observation.CameraView, 5, 5, (255, 0, 0), 0);
            Assert.DoesNotContain(env.ThreadId, threads);
        }
    }

    [Fact]
    public async Task Fake_renders_black_from_a_foreign_thread_which_is_why_calls_are_marshalled()
    {
        // Guard for the test environment itself: calling the env from a thread other than its own renders black.
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        await env.ResetAsync(0);
        int max = await Task.Run(() => fixture.Host.Invoke("foreign step", () =>
        {
            PyObject pyEnv = GetPyEnv(env);
            using PyObject result = pyEnv.InvokeMethod("step", new PyList([new PyFloat(0), new PyFloat(0), new PyFloat(0), new PyFloat(0), new PyFloat(0), new PyFloat(0), new PyFloat(-1)]));
            using PyObject obs = result[0];
            using PyObject img = obs.GetItem("agentview_image");
            using PyObject max = img.InvokeMethod("max");
            return max.InvokeMethod("item").As<int>();
        }));
        Assert.Equal(0, max);
    }

    [Fact]
    public async Task Parallel_environments_each_run_on_their_own_thread()
    {
        LiberoEnvironment[] envs = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => LiberoEnvironment.CreateAsync(fixture.Host, "libero_spatial", i)));
        try
        {
            Assert.Equal(3, envs.Select(e => e.ThreadId).Distinct().Count());
            // Each environment moves a different number of steps, concurrently.
            double[][] positions = await Task.WhenAll(envs.Select(async (e, i) =>
            {
                await e.ResetAsync(4);
                LiberoStep last = null!;
                for (int k = 0; k <= i; k++)
                {
                    last = await e.StepAsync(Right);
                }

                AssertColor(last.Observation.CameraView, 5, 5, (255, 0, 0), 0);
                return last.Observation.EefPosition.ToArray();
            }));
            Assert.Equal(0.05, positions[0][0], 12);
            Assert.Equal(0.10, positions[1][0], 12);
            Assert.Equal(0.15, positions[2][0], 12);
        }
        finally
        {
            foreach (LiberoEnvironment e in envs)
            {
                await e.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Wrist_view_is_read_only_when_asked()
    {
        await using LiberoEnvironment without = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0, new LiberoEnvironmentOptions { ReadWristView = false });
        Assert.Null((await without.ResetAsync(0)).WristView);
        Assert.Null((await without.StepAsync(LiberoActionSpace.DummyAction)).Observation.WristView);
        await using LiberoEnvironment with = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        LiberoObservation obs = await with.ResetAsync(0);
        // Gripper open: the fake's wrist camera is (60, 30, 10).
        AssertColor(Assert.IsType<RgbImage>(obs.WristView), 10, 10, (60, 30, 10), 0);
    }

    [Fact]
    public async Task Reset_rejects_an_init_state_that_does_not_exist()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = env.ResetAsync(5); });
        Assert.Contains("5 stored init states", ex.Message, StringComparison.Ordinal);
    }

    internal static void AssertColor(RgbImage image, int x, int y, (int R, int G, int B) expected, int tolerance)
    {
        ReadOnlySpan<byte> p = image.Span.Slice(((y * image.Width) + x) * 3, 3);
        Assert.True(
            Math.Abs(p[0] - expected.R) <= tolerance && Math.Abs(p[1] - expected.G) <= tolerance && Math.Abs(p[2] - expected.B) <= tolerance,
            $"pixel ({x}, {y}) is ({p[0]}, {p[1]}, {p[2]}), expected {expected} ± {tolerance}");
    }

    internal static Task<int> ReceivedCountAsync(LiberoEnvironment env) =>
        env.RunOnThread(() => PythonHost.Current!.Invoke("received", () =>
        {
            using PyObject list = GetPyEnv(env).GetAttr("received_actions");
            return (int)list.Length();
        }));

    internal static Task<double[]> ReceivedActionAsync(LiberoEnvironment env, int index) =>
        env.RunOnThread(() => PythonHost.Current!.Invoke("received", () =>
        {
            using PyObject list = GetPyEnv(env).GetAttr("received_actions");
            using PyObject item = list[index];
            return item.As<double[]>();
        }));

    private static PyObject GetPyEnv(LiberoEnvironment env) => env.PythonEnv!;
}
