namespace Magma.Tasks.Decoding;

/// <summary>
/// Turns the 7th (gripper) value after un-normalisation into the command an environment expects.
/// Embodiments disagree on the convention, so each has its own rule.
/// </summary>
public interface IGripperRule
{
    /// <summary>Maps the un-normalised gripper value to the gripper command for this step.</summary>
    double Apply(double gripper);

    /// <summary>Forgets any state carried between steps (call at the start of an episode).</summary>
    void Reset();
}

/// <summary>
/// LIBERO's rule (spec §6.6): g ← sign(2g − 1), then g ← −g, mapping RLDS (0 = close, 1 = open) to
/// LIBERO (−1 = open, +1 = close). With the usual unmasked gripper, g &gt; 0.5 → −1 and g &lt; 0.5 → +1.
/// </summary>
public sealed class LiberoGripper : IGripperRule
{
    /// <inheritdoc />
    public double Apply(double gripper) => -Math.Sign((2 * gripper) - 1);

    /// <inheritdoc />
    public void Reset()
    {
        // Stateless.
    }
}

/// <summary>SimplerEnv WidowX/Bridge rule (spec §6.7): +1 (open) when the value is above 0.5, else −1.</summary>
public sealed class BridgeGripper : IGripperRule
{
    /// <inheritdoc />
    public double Apply(double gripper) => gripper > 0.5 ? 1.0 : -1.0;

    /// <inheritdoc />
    public void Reset()
    {
        // Stateless.
    }
}

/// <summary>
/// SimplerEnv Google-robot rule (spec §6.7): the command is the change previous − current (0 on the first step);
/// once its magnitude exceeds 0.5 that value is held ("sticky") for <see cref="StickyRepeats"/> steps.
/// </summary>
/// <remarks>
/// The reference policy object never clears this state between episodes (its reset only changes the task text);
/// call <see cref="Reset"/> per episode unless you need that exact behaviour.
/// </remarks>
public sealed class GoogleRobotGripper : IGripperRule
{
    private double? _previous;
    private bool _sticky;
    private int _repeats;
    private double _stickyValue;

    /// <summary>Creates the rule with the number of steps a gripper change is held.</summary>
    /// <param name="stickyRepeats">Steps to repeat a gripper change (SimplerEnv's sticky_gripper_num_repeat, default 10).</param>
    public GoogleRobotGripper(int stickyRepeats = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stickyRepeats, 1);
        StickyRepeats = stickyRepeats;
    }

    /// <summary>Steps a gripper change is held.</summary>
    public int StickyRepeats { get; }

    /// <inheritdoc />
    public double Apply(double gripper)
    {
        double relative = _previous is double previous ? previous - gripper : 0.0;
        _previous = gripper;

        if (Math.Abs(relative) > 0.5 && !_sticky)
        {
            _sticky = true;
            _stickyValue = relative;
        }

        if (_sticky)
        {
            _repeats++;
            relative = _stickyValue;
        }

        if (_repeats == StickyRepeats)
        {
            _sticky = false;
            _repeats = 0;
            _stickyValue = 0.0;
        }

        return relative;
    }

    /// <inheritdoc />
    public void Reset()
    {
        _previous = null;
        _sticky = false;
        _repeats = 0;
        _stickyValue = 0.0;
    }
}
