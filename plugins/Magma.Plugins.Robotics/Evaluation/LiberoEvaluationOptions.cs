using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Evaluation;

/// <summary>What a <see cref="LiberoEvaluator"/> runs and where it writes. Defaults follow the reference (spec §6.1).</summary>
public sealed class LiberoEvaluationOptions
{
    /// <summary>Suites to evaluate, e.g. <c>["libero_goal"]</c>.</summary>
    public required IReadOnlyList<string> Suites { get; init; }

    /// <summary>Task ids to run in every suite; null for all tasks. An id a suite does not have is an error.</summary>
    public IReadOnlyList<int>? TaskIds { get; init; }

    /// <summary>Trials per task, over the stored init states 0..N-1 (capped at the number stored). Reference: 50.</summary>
    public int TrialsPerTask { get; init; } = LiberoProtocol.TrialsPerTask;

    /// <summary>Folder for <c>episodes.jsonl</c> (the resumable record), <c>report.json</c>, <c>report.md</c> and videos.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Tasks run at once, each in its own environment on its own thread (the model is shared). Default 1.</summary>
    public int Parallelism { get; init; } = 1;

    /// <summary>Write a video per episode. Default true.</summary>
    public bool RecordVideos { get; init; } = true;

    /// <summary>The videos' orientation: the camera's true view (default) or the policy's rotated input.</summary>
    public EpisodeVideoView VideoView { get; init; } = EpisodeVideoView.Camera;

    /// <summary>Wait steps and max steps; the reference's when not set.</summary>
    public EpisodeOptions Episode { get; init; } = new();

    /// <summary>Environment creation (resolution, seed, action bounds).</summary>
    public LiberoEnvironmentOptions Environment { get; init; } = new();
}

/// <summary>Progress of an evaluation.</summary>
/// <param name="Completed">Episodes finished so far (resumed ones included).</param>
/// <param name="Total">Episodes in the evaluation.</param>
/// <param name="Successes">Successful episodes so far.</param>
/// <param name="Last">The episode that just finished, or null for the resume notice.</param>
public sealed record EvaluationProgress(int Completed, int Total, int Successes, EpisodeResult? Last);
