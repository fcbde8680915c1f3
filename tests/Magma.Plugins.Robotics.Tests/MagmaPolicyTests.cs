using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Plugin;
using Magma.Plugins.Robotics.Policy;
using Magma.Tasks.Decoding;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Magma.Plugins.Robotics.Tests;

/// <summary>The Magma policy and the kernel functions on the tiny random-weight Magma (real graphs, noise answers).</summary>
[Collection(PythonTests.Name)]
public sealed class MagmaPolicyTests(PythonFixture fixture, TinyMagmaFixture tiny) : IAsyncLifetime, IClassFixture<TinyMagmaFixture>
{
    // LIBERO-like statistics: translation/rotation un-normalised into ±0.9, gripper passed through (mask false).
    internal static readonly ActionStatistics Stats = new(
        [-0.9, -0.9, -0.9, -0.3, -0.3, -0.3, 0], [0.9, 0.9, 0.9, 0.3, 0.3, 0.3, 1], [true, true, true, true, true, true, false]);

    // One model for the class (loading it per test was most of these tests' time); the tests run one at a time
    // (the Python collection), and nothing in a MagmaModel carries from one request to the next.
    private readonly MagmaModel _model = tiny.Model;
    private string _dir = null!;

    public Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("magma-robotics-plugin-").FullName;
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    private MagmaPolicy Policy(ActionStatistics? stats = null) =>
        new(_model, RobotActionDecoder.ForLibero(stats ?? Stats), new MagmaPolicyOptions { Generation = GenerationOptions.Greedy });

    [Fact]
    public async Task Magma_policy_returns_a_decoded_range_checked_action()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 1);
        LiberoObservation obs = await env.ResetAsync(0);
        PolicyDecision decision = await Policy().ActAsync(obs, "Put the bowl on the stove");
        Assert.Equal(7, decision.Action.Count);
        Assert.All(decision.Action.Take(3), v => Assert.InRange(v, -0.9, 0.9));
        Assert.Contains(decision.Action[6], new[] { -1.0, 1.0 });
        RobotAction decoded = Assert.IsType<RobotAction>(decision.Decoded);
        Assert.All(decoded.TokenIds, id => Assert.InRange(id, 127744, 127999));
        // The action reaches the simulator unchanged.
        await env.StepAsync(decision.Action);
        Assert.Equal(decision.Action, await LiberoEnvironmentTests.ReceivedActionAsync(env, 0));
    }

    [Fact]
    public async Task Magma_policy_refuses_actions_outside_the_action_space()
    {
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 1);
        LiberoObservation obs = await env.ResetAsync(0);
        var far = new ActionStatistics([2, 2, 2, 2, 2, 2, 0], [3, 3, 3, 3, 3, 3, 1], [true, true, true, true, true, true, false]);
        var ex = await Assert.ThrowsAsync<InvalidRobotActionException>(() => Policy(far).ActAsync(obs, "put the bowl on the stove"));
        Assert.Contains("outside [-1, 1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Suite_policy_needs_the_packages_dataset_statistics()
    {
        // The tiny package carries placeholder statistics for every suite, so it runs as a LIBERO policy as it is.
        foreach (string suite in LiberoProtocol.Suites)
        {
            Assert.NotNull(MagmaPolicy.ForSuite(_model, suite));
        }

        // The same package without the file (links to its other files): the error names the file, the key and its source.
        string bare = Path.Combine(_dir, "no-statistics");
        Directory.CreateDirectory(bare);
        foreach (string file in Directory.EnumerateFiles(PythonFixture.TinyMagmaPath).Where(f => Path.GetFileName(f) != "dataset_statistics.json"))
        {
            File.CreateSymbolicLink(Path.Combine(bare, Path.GetFileName(file)), file);
        }

        await using MagmaModel model = MagmaModel.Load(bare, new MagmaModelOptions { IntraOpThreads = 1 });
        var ex = Assert.Throws<MagmaPackageException>(() => MagmaPolicy.ForSuite(model, "libero_goal"));
        Assert.Contains("dataset_statistics.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libero_goal_no_noops", ex.Message, StringComparison.Ordinal);
        Assert.Contains("tools/export/export_magma.py", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kernel_functions_list_reset_observe_act_run_and_plan()
    {
        await using var plugin = new RoboticsPlugin(fixture.Host, _model, new RoboticsPluginOptions
        {
            PolicyFactory = _ => Policy(),
            VideoDirectory = _dir,
            TraceGeneration = new GenerationOptions { MaxNewTokens = 12 },
        });
        var kernel = new Kernel();
        KernelPlugin functions = kernel.ImportPluginFromObject(plugin, "robot");
        Assert.Equal(
            new[] { "act", "list_tasks", "observe", "plan_trace", "reset", "run_episode" },
            functions.Select(f => f.Name).Order(StringComparer.Ordinal));

        string tasks = (await kernel.InvokeAsync(functions["list_tasks"], new() { ["suite"] = "libero_goal" })).GetValue<string>()!;
        using (JsonDocument doc = JsonDocument.Parse(tasks))
        {
            Assert.Equal("put the bowl on the stove", doc.RootElement[1].GetProperty("instruction").GetString());
        }

        // Continuations of SK calls land on pool threads: the environment still steps on its own thread.
        string state = await Task.Run(async () => (await kernel.InvokeAsync(functions["reset"], new() { ["task"] = "put the bowl on the stove" })).GetValue<string>()!);
        Assert.Contains("\"task_id\":1", state, StringComparison.Ordinal);

        var seen = (await kernel.InvokeAsync(functions["observe"])).GetValue<ChatMessageContentItemCollection>()!;
        ImageContent image = Assert.IsType<ImageContent>(seen[1]);
        Assert.Equal("image/png", image.MimeType);
        var png = Magma.Inference.Imaging.RgbImage.Decode(image.Data!.Value.Span);
        LiberoEnvironmentTests.AssertColor(png, 5, 5, (255, 0, 0), 0);

        string act = (await kernel.InvokeAsync(functions["act"])).GetValue<string>()!;
        using (JsonDocument doc = JsonDocument.Parse(act))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("step").GetInt32());
            Assert.Equal(7, doc.RootElement.GetProperty("action").GetArrayLength());
        }

        var plan = (await kernel.InvokeAsync(functions["plan_trace"], new() { ["instruction"] = "put the bowl on the stove" })).GetValue<ChatMessageContentItemCollection>()!;
        string planText = Assert.IsType<TextContent>(plan[0]).Text!;
        // A random-weight model rarely answers in the trace format; either outcome must be well-formed JSON.
        using (JsonDocument doc = JsonDocument.Parse(planText))
        {
            Assert.True(doc.RootElement.TryGetProperty("error", out _) || doc.RootElement.TryGetProperty("traces", out _));
        }

        string episode = (await kernel.InvokeAsync(functions["run_episode"], new() { ["instruction"] = "libero_goal:1", ["maxSteps"] = 2 })).GetValue<string>()!;
        using (JsonDocument doc = JsonDocument.Parse(episode))
        {
            Assert.Equal(2, doc.RootElement.GetProperty("steps").GetInt32());
            Assert.False(doc.RootElement.GetProperty("success").GetBoolean());
            VideoChecks.AssertValidVideo(doc.RootElement.GetProperty("video_path").GetString()!, expectedFrames: 2);
        }
    }

    [Fact]
    public async Task Kernel_functions_hand_back_every_frame_buffer_they_take()
    {
        var plugin = new RoboticsPlugin(fixture.Host, _model, new RoboticsPluginOptions
        {
            PolicyFactory = _ => Policy(),
            TraceGeneration = new GenerationOptions { MaxNewTokens = 4 },
        });
        var kernel = new Kernel();
        KernelPlugin functions = kernel.ImportPluginFromObject(plugin, "robot");
        await kernel.InvokeAsync(functions["reset"], new() { ["task"] = "libero_goal:1" });
        LiberoEnvironment env = plugin.Environment!;

        // One live observation at a time: its agent and wrist views, plus the camera view and model frame once read.
        async Task<int> RoundAsync()
        {
            await kernel.InvokeAsync(functions["observe"]);
            await kernel.InvokeAsync(functions["act"]);
            await kernel.InvokeAsync(functions["plan_trace"], new() { ["instruction"] = "put the bowl on the stove" });
            await kernel.InvokeAsync(functions["act"]);
            return env.FrameBuffersInUse;
        }

        int inUse = await RoundAsync();
        int allocated = env.FrameAllocations;
        Assert.InRange(inUse, 1, 4);
        for (int i = 0; i < 6; i++)
        {
            // A leak (an observation replaced without Dispose) adds 2-4 buffers per act and new allocations.
            Assert.Equal(inUse, await RoundAsync());
        }

        Assert.Equal(allocated, env.FrameAllocations);

        // Another reset of the same task replaces the observation; run_episode leaves no observation behind.
        await kernel.InvokeAsync(functions["reset"], new() { ["task"] = "libero_goal:1", ["trial"] = 1 });
        Assert.Equal(2, env.FrameBuffersInUse);
        await kernel.InvokeAsync(functions["run_episode"], new() { ["instruction"] = "libero_goal:1", ["maxSteps"] = 2 });
        Assert.Equal(0, env.FrameBuffersInUse);

        // Switching task closes the old environment after handing back its observation's buffers.
        await kernel.InvokeAsync(functions["reset"], new() { ["task"] = "libero_goal:1" });
        await kernel.InvokeAsync(functions["act"]);
        await kernel.InvokeAsync(functions["reset"], new() { ["task"] = "libero_goal:0" });
        Assert.Equal(0, env.FrameBuffersInUse);
        LiberoEnvironment other = plugin.Environment!;
        Assert.NotSame(env, other);
        Assert.Equal(2, other.FrameBuffersInUse);
        await plugin.DisposeAsync();
        Assert.Equal(0, other.FrameBuffersInUse);
    }

    [Fact]
    public async Task Sampling_is_seeded_like_the_reference_so_an_episode_replays_exactly()
    {
        Assert.Equal(0UL, new MagmaPolicyOptions().Seed);
        Assert.True(new MagmaPolicyOptions().Generation.DoSample);
        await using LiberoEnvironment env = await LiberoEnvironment.CreateAsync(fixture.Host, "libero_goal", 1);
        LiberoObservation obs = await env.ResetAsync(0);

        // Default options: the reference's sampling (temperature 0.7, top-k 50), seeded with 0.
        async Task<List<IReadOnlyList<int>>> EpisodeAsync(MagmaPolicy policy, int requestsBefore)
        {
            for (int i = 0; i < requestsBefore; i++)
            {
                await policy.ActAsync(obs, "put the bowl on the stove");
            }

            await policy.ResetAsync("put the bowl on the stove");
            var tokens = new List<IReadOnlyList<int>>();
            for (int i = 0; i < 3; i++)
            {
                tokens.Add((await policy.ActAsync(obs, "put the bowl on the stove")).Decoded!.TokenIds);
            }

            return tokens;
        }

        var first = await EpisodeAsync(new MagmaPolicy(_model, RobotActionDecoder.ForLibero(Stats)), 0);
        // Another policy with history before its episode: the episode's requests still sample the same tokens.
        var again = await EpisodeAsync(new MagmaPolicy(_model, RobotActionDecoder.ForLibero(Stats)), 2);
        Assert.Equal(first, again);

        // Each request of an episode has its own seed, and the base seed changes all of them.
        ulong[] seeds = [.. Enumerable.Range(0, 100).Select(k => MagmaPolicy.RequestSeed(0, k))];
        Assert.Equal(100, seeds.Distinct().Count());
        Assert.DoesNotContain(MagmaPolicy.RequestSeed(1, 0), seeds);
        obs.Dispose();
    }

    [Fact]
    public async Task Unknown_task_names_the_way_to_find_one()
    {
        await using var plugin = new RoboticsPlugin(fixture.Host, _model, new RoboticsPluginOptions { PolicyFactory = _ => Policy() });
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => plugin.ResetAsync("fly to the moon"));
        Assert.Contains("list_tasks", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>The tiny random-weight Magma, loaded once for a test class.</summary>
public sealed class TinyMagmaFixture : IAsyncLifetime
{
    public MagmaModel Model { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Model = MagmaModel.Load(PythonFixture.TinyMagmaPath, new MagmaModelOptions { IntraOpThreads = 1 });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Model.DisposeAsync();
}
