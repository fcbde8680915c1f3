using System.Diagnostics;
using Magma.Inference;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Python;
using Magma.Plugins.Robotics.Video;

namespace Magma.Plugins.Robotics.Evaluation;

/// <summary>
/// Runs one episode with the reference protocol (spec §6.1): reset to a stored init state, the wait steps with the
/// dummy action, then up to max-steps policy steps; success when <c>env.step</c> returns <c>done</c>.
/// </summary>
public static class EpisodeRunner
{
    /// <summary>Runs an episode. Errors from the simulator or the policy end the episode as a failure with the error recorded.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is recorded for this episode and its partial video is deleted.</exception>
    public static async Task<EpisodeResult> RunAsync(
        LiberoEnvironment environment, IRobotPolicy policy, int trial, EpisodeOptions? options = null,
        IProgress<EpisodeStep>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new EpisodeOptions();
        LiberoTask task = environment.Task;
        int maxSteps = options.MaxSteps ?? LiberoProtocol.MaxSteps(task.Suite);
        ArgumentOutOfRangeException.ThrowIfNegative(options.WaitSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);

        var total = Stopwatch.StartNew();
        double observeMs = 0, modelMs = 0, stepMs = 0;
        int policySteps = 0;
        bool success = false;
        string? error = null, errorType = null;
        EpisodeVideoWriter? video = options.VideoPath is null
            ? null
            : EpisodeVideoWriter.Create(options.VideoPath, LiberoProtocol.Resolution, options.VideoFps, label: VideoLabel(options.VideoView));
        bool finished = false;
        // Each observation is disposed once the next one has arrived, so its frame buffers serve the step after
        // (two observations alive at a time: no per-frame allocation in the loop).
        LiberoObservation? obs = null;
        try
        {
            obs = await environment.ResetAsync(trial, cancellationToken).ConfigureAwait(false);
            await policy.ResetAsync(task.Language, cancellationToken).ConfigureAwait(false);
            for (int t = 0; t < options.WaitSteps; t++)
            {
                // The reference ignores done while objects settle.
                LiberoObservation next = (await environment.StepAsync(LiberoActionSpace.DummyAction, cancellationToken).ConfigureAwait(false)).Observation;
                obs.Dispose();
                obs = next;
            }

            while (policySteps < maxSteps)
            {
                cancellationToken.ThrowIfCancellationRequested();
                long t0 = Stopwatch.GetTimestamp();
                _ = obs.ModelFrame;
                video?.AddFrame(VideoFrame(obs, options.VideoView), task.Language, policySteps + 1);
                long t1 = Stopwatch.GetTimestamp();
                PolicyDecision decision = await policy.ActAsync(obs, task.Language, cancellationToken).ConfigureAwait(false);
                long t2 = Stopwatch.GetTimestamp();
                LiberoStep step = await environment.StepAsync(decision.Action, cancellationToken).ConfigureAwait(false);
                long t3 = Stopwatch.GetTimestamp();
                policySteps++;
                double o = Ms(t0, t1), m = Ms(t1, t2), s = Ms(t2, t3);
                observeMs += o;
                modelMs += m;
                stepMs += s;
                progress?.Report(new EpisodeStep(policySteps, decision.Action, step.Done, o, m, s));
                obs.Dispose();
                obs = step.Observation;
                if (step.Done)
                {
                    success = true;
                    video?.AddFrame(VideoFrame(obs, options.VideoView), task.Language, policySteps, "success");
                    break;
                }
            }

            finished = true;
        }
        catch (Exception ex) when (ex is PythonErrorException or InvalidRobotActionException or MagmaInputException or MagmaPackageException)
        {
            error = ex.Message;
            errorType = ex is PythonErrorException py ? py.PythonType : ex.GetType().Name;
            finished = true;
        }
        finally
        {
            obs?.Dispose();
            if (video is not null && (!finished || video.FrameCount == 0))
            {
                // Cancelled (the episode is not recorded and runs again on resume) or ended before its first frame:
                // no video rather than an empty or truncated file.
                video.Abort();
                video = null;
            }
            else if (video is not null)
            {
                try
                {
                    video.Finish();
                }
                catch (IOException ex)
                {
                    // The episode's outcome stands; the broken video is reported with it.
                    error ??= ex.Message;
                    errorType ??= "VideoError";
                }
                finally
                {
                    video.Dispose();
                }
            }
        }

        return new EpisodeResult(
            task.Suite, task.TaskId, task.Language, trial, success, policySteps, error, errorType,
            new EpisodeTimings(policySteps, observeMs, modelMs, stepMs, total.Elapsed.TotalMilliseconds),
            video?.Path);
    }

    private static RgbImage VideoFrame(LiberoObservation observation, EpisodeVideoView view) =>
        view == EpisodeVideoView.ModelInput ? observation.RotatedAgentView : observation.CameraView;

    private static string VideoLabel(EpisodeVideoView view) =>
        view == EpisodeVideoView.ModelInput ? "model input (rotated 180\u00b0)" : "camera view";

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
