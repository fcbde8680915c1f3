using System.Text.Json;
using Magma.Plugins.Robotics.Evaluation;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Video;
using Python.Runtime;

namespace Magma.Plugins.Robotics.Tests;

[Collection(PythonTests.Name)]
public sealed class EpisodeTests(PythonFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("magma-robotics-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Episode_follows_the_reference_protocol_wait_steps_then_policy_until_done()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        var policy = ReplayPolicy.Constant(LiberoEnvironmentTests.Right);
        var steps = new List<EpisodeStep>();
        EpisodeResult result = await EpisodeRunner.RunAsync(env, policy, trial: 2, progress: new SyncProgress<EpisodeStep>(steps.Add));
        // Init state 2 needs 3 + 2 = 5 moves to the right.
        Assert.True(result.Success);
        Assert.Equal(5, result.Steps);
        Assert.Equal(5, policy.Calls);
        Assert.Null(result.Error);
        Assert.Equal(5, steps.Count);
        Assert.True(steps[^1].Done);
        Assert.Equal(15, await LiberoEnvironmentTests.ReceivedCountAsync(env));
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(LiberoActionSpace.DummyAction, await LiberoEnvironmentTests.ReceivedActionAsync(env, i));
        }

        Assert.Equal(LiberoEnvironmentTests.Right, await LiberoEnvironmentTests.ReceivedActionAsync(env, 10));
        Assert.Equal(5, result.Timings.PolicySteps);
        Assert.True(result.Timings.StepMs > 0);
    }

    [Fact]
    public async Task Episode_stops_at_the_suites_max_steps_without_success()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_spatial", 0, new LiberoEnvironmentOptions { ReadWristView = false });
        var policy = ReplayPolicy.Constant(LiberoActionSpace.DummyAction);
        EpisodeResult result = await EpisodeRunner.RunAsync(env, policy, trial: 0);
        Assert.False(result.Success);
        Assert.Equal(220, result.Steps);
        Assert.Equal(230, await LiberoEnvironmentTests.ReceivedCountAsync(env));
    }

    [Fact]
    public async Task Python_error_in_step_ends_the_episode_as_a_failure_with_the_error()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 2);
        EpisodeResult result = await EpisodeRunner.RunAsync(env, ReplayPolicy.Constant(LiberoEnvironmentTests.Right), trial: 1);
        Assert.False(result.Success);
        Assert.Equal("RuntimeError", result.ErrorType);
        Assert.Contains("fault injected at step 3", result.Error, StringComparison.Ordinal);
        // The next episode on the same environment runs normally.
        EpisodeResult next = await EpisodeRunner.RunAsync(env, ReplayPolicy.Constant(LiberoEnvironmentTests.Right), trial: 0);
        Assert.True(next.Success);
    }

    [Fact]
    public async Task Out_of_range_policy_action_is_refused_and_recorded()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        EpisodeResult result = await EpisodeRunner.RunAsync(env, ReplayPolicy.Constant([2, 0, 0, 0, 0, 0, -1]), trial: 0);
        Assert.False(result.Success);
        Assert.Equal(nameof(InvalidRobotActionException), result.ErrorType);
        Assert.Equal(10, await LiberoEnvironmentTests.ReceivedCountAsync(env));
    }

    [Fact]
    public async Task Evaluation_runs_tasks_in_parallel_and_writes_reports_and_videos()
    {
        var options = new LiberoEvaluationOptions
        {
            Suites = ["libero_goal"],
            TaskIds = [0, 2],
            TrialsPerTask = 2,
            OutputDirectory = _dir,
            Parallelism = 2,
        };
        var evaluator = new LiberoEvaluator(fixture.Host, _ => ReplayPolicy.Constant(LiberoEnvironmentTests.Right), options);
        EvaluationReport report = await evaluator.RunAsync();

        Assert.Equal(4, report.Episodes.Count);
        Assert.Equal(3, report.Episodes.Count(e => e.Success));
        EpisodeResult failed = Assert.Single(report.Episodes, e => !e.Success);
        Assert.Equal((2, 1, "RuntimeError"), (failed.TaskId, failed.Trial, failed.ErrorType));
        Assert.Equal(0.75, Assert.Single(report.Suites).SuccessRate);
        Assert.Equal([1.0, 0.5], report.Tasks.Select(t => t.SuccessRate));

        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "report.json")));
        Assert.Equal(4, json.RootElement.GetProperty("Episodes").GetArrayLength());
        Assert.Equal(0.75, json.RootElement.GetProperty("SuccessRate").GetDouble());
        string md = File.ReadAllText(Path.Combine(_dir, "report.md"));
        Assert.Contains("| libero_goal | 4 | 3 | 75.0% |", md, StringComparison.Ordinal);
        Assert.Contains("RuntimeError", md, StringComparison.Ordinal);

        foreach (EpisodeResult e in report.Episodes.Where(e => e.Success))
        {
            Assert.NotNull(e.VideoPath);
            VideoChecks.AssertValidVideo(e.VideoPath!, expectedFrames: e.Steps + 1);
        }
    }

    [Fact]
    public async Task Interrupted_evaluation_resumes_without_repeating_finished_episodes()
    {
        var options = new LiberoEvaluationOptions
        {
            Suites = ["libero_object"],
            TrialsPerTask = 3,
            OutputDirectory = _dir,
            RecordVideos = false,
        };
        using var cts = new CancellationTokenSource();
        var first = new LiberoEvaluator(fixture.Host, _ => ReplayPolicy.Constant(LiberoEnvironmentTests.Right), options);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.RunAsync(
            new SyncProgress<EvaluationProgress>(p =>
            {
                if (p.Completed == 4)
                {
                    cts.Cancel();
                }
            }),
            cts.Token));
        Assert.Equal(4, File.ReadAllLines(Path.Combine(_dir, LiberoEvaluator.EpisodesFile)).Length);

        int policyCalls = 0;
        var second = new LiberoEvaluator(fixture.Host, _ => new CountingPolicy(() => Interlocked.Increment(ref policyCalls)), options);
        var seen = new List<EvaluationProgress>();
        EvaluationReport report = await second.RunAsync(new SyncProgress<EvaluationProgress>(seen.Add));
        Assert.Equal(9, report.Episodes.Count);
        Assert.Equal(9, report.Episodes.Select(e => (e.TaskId, e.Trial)).Distinct().Count());
        Assert.Equal(4, seen[0].Completed);
        Assert.Equal(9, seen[0].Total);
        // Trials 0,1,2 need 3,4,5 moves: only the 5 unfinished episodes ran again.
        int[] movesPerTrial = [3, 4, 5];
        int expectedCalls = File.ReadAllLines(Path.Combine(_dir, LiberoEvaluator.EpisodesFile)).Skip(4)
            .Select(l => JsonSerializer.Deserialize<EpisodeResult>(l)!).Sum(e => movesPerTrial[e.Trial]);
        Assert.Equal(expectedCalls, policyCalls);
        Assert.Equal(9, File.ReadAllLines(Path.Combine(_dir, LiberoEvaluator.EpisodesFile)).Length);
    }

    [Fact]
    public void Torn_last_line_of_the_record_is_ignored_on_resume()
    {
        string path = Path.Combine(_dir, LiberoEvaluator.EpisodesFile);
        var ok = new EpisodeResult("libero_goal", 0, "x", 0, true, 3, null, null, new EpisodeTimings(3, 1, 1, 1, 3), null);
        File.WriteAllText(path, JsonSerializer.Serialize(ok) + "\n{\"Suite\":\"libero_go");
        List<EpisodeResult> read = LiberoEvaluator.ReadRecord(path);
        Assert.Equal(ok, Assert.Single(read));
    }

    [Fact]
    public async Task Video_shows_the_camera_view_by_default_and_the_rotated_model_input_on_request()
    {
        // The fake scene has red top-left and green top-right as the camera sees it; the model input is mirrored.
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        string camera = Path.Combine(_dir, "camera.mp4"), model = Path.Combine(_dir, "model.mp4");
        EpisodeResult a = await EpisodeRunner.RunAsync(env, ReplayPolicy.Constant(LiberoEnvironmentTests.Right), 0, new EpisodeOptions { VideoPath = camera });
        EpisodeResult b = await EpisodeRunner.RunAsync(
            env, ReplayPolicy.Constant(LiberoEnvironmentTests.Right), 0, new EpisodeOptions { VideoPath = model, VideoView = EpisodeVideoView.ModelInput });
        Assert.Equal((camera, model), (a.VideoPath, b.VideoPath));

        var first = VideoChecks.FirstFrame(camera);
        LiberoEnvironmentTests.AssertColor(first, 10, 10, (255, 0, 0), 40);
        LiberoEnvironmentTests.AssertColor(first, 245, 10, (0, 255, 0), 40);
        var rotated = VideoChecks.FirstFrame(model);
        LiberoEnvironmentTests.AssertColor(rotated, 245, 10, (255, 0, 0), 40);
        LiberoEnvironmentTests.AssertColor(rotated, 10, 10, (0, 255, 0), 40);
    }

    [Fact]
    public async Task Cancelled_episode_leaves_no_video()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 0);
        string video = Path.Combine(_dir, "cancelled.mp4");
        using var cts = new CancellationTokenSource();
        int calls = 0;
        var policy = new CountingPolicy(() =>
        {
            if (++calls == 2)
            {
                cts.Cancel();
            }
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            EpisodeRunner.RunAsync(env, policy, trial: 4, new EpisodeOptions { VideoPath = video }, null, cts.Token));
        Assert.False(File.Exists(video), "a cancelled episode left a video");
        Assert.False(File.Exists(Path.ChangeExtension(video, ".avi")), "a cancelled episode left a video");
    }

    [Fact]
    public async Task Resume_after_a_torn_last_line_starts_the_next_record_on_its_own_line()
    {
        string path = Path.Combine(_dir, LiberoEvaluator.EpisodesFile);
        var kept = new EpisodeResult("libero_goal", 0, "open the middle drawer of the cabinet", 0, true, 3, null, null, new EpisodeTimings(3, 1, 1, 1, 3), null);
        File.WriteAllText(path, JsonSerializer.Serialize(kept) + "\n{\"Suite\":\"libero_go");
        var options = new LiberoEvaluationOptions { Suites = ["libero_goal"], TaskIds = [0], TrialsPerTask = 2, OutputDirectory = _dir, RecordVideos = false };

        EvaluationReport report = await new LiberoEvaluator(fixture.Host, _ => ReplayPolicy.Constant(LiberoEnvironmentTests.Right), options).RunAsync();

        Assert.Equal(2, report.Episodes.Count);
        // The record read back holds both: the kept one and trial 1, which did not glue onto the fragment.
        Assert.Equal([0, 1], LiberoEvaluator.ReadRecord(path).Select(e => e.Trial).Order());
        Assert.Equal("{\"Suite\":\"libero_go", File.ReadAllLines(path)[1]);
    }

    [Fact]
    public async Task Task_ids_a_suite_does_not_have_are_an_error_before_anything_runs()
    {
        string output = Path.Combine(_dir, "eval");
        var options = new LiberoEvaluationOptions { Suites = ["libero_goal"], TaskIds = [0, 7, 9], OutputDirectory = output };
        var ex = await Assert.ThrowsAsync<Magma.Inference.MagmaInputException>(
            () => new LiberoEvaluator(fixture.Host, _ => ReplayPolicy.Constant(LiberoEnvironmentTests.Right), options).RunAsync());
        Assert.Contains("task id 7, 9 is not in libero_goal, which has 3 tasks (ids 0..2)", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public async Task Python_error_creating_an_environment_fails_only_that_tasks_episodes()
    {
        const string Broken = "PUT_THE_BOWL_ON_THE_STOVE";  // libero_goal task 1
        SetCreateFailure(Broken, fail: true);
        try
        {
            var options = new LiberoEvaluationOptions { Suites = ["libero_goal"], TaskIds = [0, 1], TrialsPerTask = 2, OutputDirectory = _dir, RecordVideos = false };
            EvaluationReport report = await new LiberoEvaluator(fixture.Host, _ => ReplayPolicy.Constant(LiberoEnvironmentTests.Right), options).RunAsync();

            Assert.Equal(4, report.Episodes.Count);
            Assert.All(report.Episodes.Where(e => e.TaskId == 0), e => Assert.True(e.Success));
            Assert.All(report.Episodes.Where(e => e.TaskId == 1), e =>
            {
                Assert.False(e.Success);
                Assert.Equal("RuntimeError", e.ErrorType);
                Assert.Contains("could not create the OpenGL context", e.Error, StringComparison.Ordinal);
            });
            Assert.Equal(4, LiberoEvaluator.ReadRecord(Path.Combine(_dir, LiberoEvaluator.EpisodesFile)).Count);
        }
        finally
        {
            SetCreateFailure(Broken, fail: false);
        }
    }

    private void SetCreateFailure(string taskName, bool fail) => fixture.Host.Invoke("FAIL_ON_CREATE", () =>
    {
        using PyObject envs = Py.Import("libero.libero.envs");
        using PyObject names = envs.GetAttr("FAIL_ON_CREATE");
        using var name = new PyString(taskName);
        names.InvokeMethod(fail ? "add" : "discard", name).Dispose();
        return 0;
    });

    [Fact]
    public void Fallback_video_without_ffmpeg_is_a_valid_mjpeg_avi()
    {
        string target = Path.Combine(_dir, "fallback.mp4");
        using (EpisodeVideoWriter writer = EpisodeVideoWriter.Create(target, 256, 30, useFfmpeg: false))
        {
            Assert.False(writer.UsesFfmpeg);
            Assert.EndsWith(".avi", writer.Path, StringComparison.Ordinal);
            var frame = Magma.Inference.Imaging.RgbImage.FromPixels(256, 256, new byte[256 * 256 * 3]);
            for (int i = 0; i < 7; i++)
            {
                writer.AddFrame(frame, "put the bowl on the stove", i + 1);
            }

            writer.Finish();
        }

        VideoChecks.AssertValidVideo(Path.ChangeExtension(target, ".avi"), expectedFrames: 7);
    }

    private sealed class CountingPolicy(Action onCall) : IRobotPolicy
    {
        public ValueTask ResetAsync(string instruction, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public Task<PolicyDecision> ActAsync(LiberoObservation observation, string instruction, CancellationToken cancellationToken = default)
        {
            onCall();
            return Task.FromResult(new PolicyDecision(LiberoEnvironmentTests.Right));
        }
    }
}

/// <summary>IProgress that calls back synchronously (Progress&lt;T&gt; posts to the pool, which races assertions).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
