using Magma.Plugins.Robotics.Libero;
using Magma.Tasks.Decoding;

namespace Magma.Plugins.Robotics.Policy;

/// <summary>
/// Chooses the next 7-D action from an observation and the task instruction. Magma is one policy; scripted,
/// replayed or remote policies plug in the same way. One instance serves one episode stream at a time (it may keep
/// per-episode state); parallel evaluations create one per environment.
/// </summary>
public interface IRobotPolicy
{
    /// <summary>Called when an episode starts; clears per-episode state.</summary>
    ValueTask ResetAsync(string instruction, CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns the action for this observation. The caller range-checks it again before stepping. The observation's
    /// frames are valid during the call only: the episode loop disposes it after the next step, and its buffers then
    /// carry later frames (see <see cref="LiberoObservation"/>), so copy any frame kept beyond the returned task.
    /// </summary>
    Task<PolicyDecision> ActAsync(LiberoObservation observation, string instruction, CancellationToken cancellationToken = default);
}

/// <summary>An action chosen by a policy.</summary>
/// <param name="Action">The 7 values to send to <c>env.step</c>.</param>
/// <param name="Decoded">For Magma: the tokens and every decoding stage, for logs and reports.</param>
public sealed record PolicyDecision(IReadOnlyList<double> Action, RobotAction? Decoded = null);
