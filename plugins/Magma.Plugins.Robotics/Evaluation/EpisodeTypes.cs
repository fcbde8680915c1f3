using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Evaluation;

/// <summary>How an episode is run. Defaults are the reference evaluation's (spec §6.1).</summary>
public sealed class EpisodeOptions
{
    /// <summary>Dummy-action steps at the start (not counted as policy steps; <c>done</c> is ignored there). Default 10.</summary>
    public int WaitSteps { get; init; } = LiberoProtocol.WaitSteps;

    /// <summary>Policy steps allowed; null means the suite's reference value (<see cref="LiberoProtocol.MaxSteps"/>).</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Where to write the episode's MP4, or null for none.</summary>
    public string? VideoPath { get; init; }

    /// <summary>Frames per second of the video (the reference saves at 30).</summary>
    public int VideoFps { get; init; } = 30;

    /// <summary>Which orientation the video shows; default <see cref="EpisodeVideoView.Camera"/> (the true view).</summary>
    public EpisodeVideoView VideoView { get; init; } = EpisodeVideoView.Camera;
}

/// <summary>The orientation of an episode video; its caption names it.</summary>
public enum EpisodeVideoView
{
    /// <summary>
    /// What the camera sees (<see cref="Libero.LiberoObservation.CameraView"/>, the orientation LIBERO's own video
    /// writer saves).
    /// </summary>
    Camera,

    /// <summary>
    /// The policy's input orientation, rotated 180° (<see cref="Libero.LiberoObservation.RotatedAgentView"/>): what
    /// Magma's and OpenVLA's evaluation scripts save; mirrored left to right against the camera.
    /// </summary>
    ModelInput,
}

/// <summary>What happened on one policy step (for progress reporting and logs).</summary>
/// <param name="Step">Policy step number, from 1.</param>
/// <param name="Action">The action sent.</param>
/// <param name="Done">LIBERO's <c>done</c> after the step.</param>
/// <param name="ObserveMs">Frame transform and video frame time.</param>
/// <param name="ModelMs">Policy time.</param>
/// <param name="StepMs"><c>env.step</c> time, marshalling and frame copy included.</param>
public sealed record EpisodeStep(int Step, IReadOnlyList<double> Action, bool Done, double ObserveMs, double ModelMs, double StepMs);

/// <summary>Per-step time sums of an episode, in milliseconds.</summary>
/// <param name="PolicySteps">Policy steps timed.</param>
/// <param name="ObserveMs">Total observe time (frame transform, video frame).</param>
/// <param name="ModelMs">Total policy time.</param>
/// <param name="StepMs">Total <c>env.step</c> time of the policy steps.</param>
/// <param name="TotalMs">Wall time of the whole episode (reset and wait steps included).</param>
public sealed record EpisodeTimings(int PolicySteps, double ObserveMs, double ModelMs, double StepMs, double TotalMs);

/// <summary>The outcome of one episode.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="TaskId">The task id in the suite.</param>
/// <param name="Instruction">The task's language instruction.</param>
/// <param name="Trial">The trial number = the init state index used.</param>
/// <param name="Success">Whether LIBERO returned <c>done</c> within the allowed steps.</param>
/// <param name="Steps">Policy steps taken.</param>
/// <param name="Error">The error that ended the episode early (counted as a failure), or null.</param>
/// <param name="ErrorType">The error's type (Python type for Python errors), or null.</param>
/// <param name="Timings">Time sums.</param>
/// <param name="VideoPath">The episode video, if one was written.</param>
public sealed record EpisodeResult(
    string Suite, int TaskId, string Instruction, int Trial, bool Success, int Steps, string? Error, string? ErrorType,
    EpisodeTimings Timings, string? VideoPath);
