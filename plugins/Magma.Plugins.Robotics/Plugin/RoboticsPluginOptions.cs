using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Policy;

namespace Magma.Plugins.Robotics.Plugin;

/// <summary>How <see cref="RoboticsPlugin"/> finds tasks, acts and records.</summary>
public sealed class RoboticsPluginOptions
{
    /// <summary>Suites searched by <c>list_tasks</c> and when a task is named by its instruction; all suites when null.</summary>
    public IReadOnlyList<string>? Suites { get; init; }

    /// <summary>
    /// Creates the policy for a task. Default: <see cref="MagmaPolicy.ForSuite"/> (the package's
    /// <c>dataset_statistics.json</c>, key <c>&lt;suite&gt;_no_noops</c>).
    /// </summary>
    public Func<LiberoTask, IRobotPolicy>? PolicyFactory { get; init; }

    /// <summary>Folder for episode videos written by <c>run_episode</c>; none when null.</summary>
    public string? VideoDirectory { get; init; }

    /// <summary>Environment creation options.</summary>
    public LiberoEnvironmentOptions Environment { get; init; } = new();

    /// <summary>Marks planned by <c>plan_trace</c> (ids 1..N, as the trajectory demo names them). Default 10.</summary>
    public int TraceMarks { get; init; } = 10;

    /// <summary>Generation options of <c>plan_trace</c>; the demo's (temperature 0.3, top-k 50, 1024 tokens) when null.</summary>
    public GenerationOptions? TraceGeneration { get; init; }
}
