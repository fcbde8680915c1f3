using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Policy;

/// <summary>
/// Replays a fixed list of actions (a recorded demonstration, a scripted motion), then repeats the last one or a
/// fallback. Useful for checking an environment set-up without a model, and in tests.
/// </summary>
public sealed class ReplayPolicy : IRobotPolicy
{
    private readonly IReadOnlyList<IReadOnlyList<double>> _actions;
    private readonly IReadOnlyList<double> _after;
    private int _next;

    /// <summary>Creates the policy.</summary>
    /// <param name="actions">Actions returned in order, one per call.</param>
    /// <param name="after">Returned once the list is exhausted; the dummy action (no motion, gripper open) when null.</param>
    public ReplayPolicy(IReadOnlyList<IReadOnlyList<double>> actions, IReadOnlyList<double>? after = null)
    {
        ArgumentNullException.ThrowIfNull(actions);
        _actions = actions;
        _after = after ?? LiberoActionSpace.DummyAction;
    }

    /// <summary>A policy that repeats one action for ever.</summary>
    public static ReplayPolicy Constant(IReadOnlyList<double> action) => new([], action);

    /// <summary>Number of actions returned since the last reset.</summary>
    public int Calls => _next;

    /// <inheritdoc />
    public ValueTask ResetAsync(string instruction, CancellationToken cancellationToken = default)
    {
        _next = 0;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public Task<PolicyDecision> ActAsync(LiberoObservation observation, string instruction, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<double> action = _next < _actions.Count ? _actions[_next] : _after;
        _next++;
        return Task.FromResult(new PolicyDecision(action));
    }
}
