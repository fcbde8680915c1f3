using System.Globalization;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// The bounds of a 7-D LIBERO action (<c>[dx, dy, dz, droll, dpitch, dyaw, gripper]</c>, OSC_POSE controller).
/// Every action is checked against them before it reaches the simulator: robosuite would clip silently, hiding a
/// decoding error.
/// </summary>
public sealed class LiberoActionSpace
{
    /// <summary>Number of action dimensions.</summary>
    public const int Dimensions = 7;

    private readonly double[] _low;
    private readonly double[] _high;

    /// <summary>Creates an action space with explicit per-dimension bounds.</summary>
    /// <exception cref="ArgumentException">The bounds are not 7 finite values with low &lt;= high.</exception>
    public LiberoActionSpace(IReadOnlyList<double> low, IReadOnlyList<double> high)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        if (low.Count != Dimensions || high.Count != Dimensions)
        {
            throw new ArgumentException($"Action bounds need {Dimensions} values each; got {low.Count} low and {high.Count} high.");
        }

        for (int i = 0; i < Dimensions; i++)
        {
            if (!double.IsFinite(low[i]) || !double.IsFinite(high[i]) || low[i] > high[i])
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Action bound {i} is invalid: low {low[i]}, high {high[i]}."));
            }
        }

        _low = [.. low];
        _high = [.. high];
    }

    /// <summary>LIBERO's action space: every dimension in [-1, 1].</summary>
    public static LiberoActionSpace Default { get; } = new([-1, -1, -1, -1, -1, -1, -1], [1, 1, 1, 1, 1, 1, 1]);

    /// <summary>Lower bounds.</summary>
    public IReadOnlyList<double> Low => _low;

    /// <summary>Upper bounds.</summary>
    public IReadOnlyList<double> High => _high;

    /// <summary>The reference's wait-step action: no motion, gripper open (<c>[0, 0, 0, 0, 0, 0, -1]</c>).</summary>
    public static IReadOnlyList<double> DummyAction { get; } = [0, 0, 0, 0, 0, 0, -1];

    /// <summary>Returns null when the action is valid, else what is wrong with it.</summary>
    public string? Check(ReadOnlySpan<double> action)
    {
        if (action.Length != Dimensions)
        {
            return string.Create(CultureInfo.InvariantCulture, $"an action has {Dimensions} values, got {action.Length}");
        }

        for (int i = 0; i < Dimensions; i++)
        {
            double v = action[i];
            if (!double.IsFinite(v))
            {
                return string.Create(CultureInfo.InvariantCulture, $"dimension {i} is not finite ({v})");
            }

            if (v < _low[i] || v > _high[i])
            {
                return string.Create(CultureInfo.InvariantCulture, $"dimension {i} = {v} is outside [{_low[i]}, {_high[i]}]");
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="InvalidRobotActionException"/> unless the action is within the space.</summary>
    public void Validate(ReadOnlySpan<double> action)
    {
        string? problem = Check(action);
        if (problem is not null)
        {
            throw new InvalidRobotActionException(
                $"Action [{string.Join(", ", action.ToArray().Select(v => v.ToString("G6", CultureInfo.InvariantCulture)))}] was not sent to the simulator: {problem}. " +
                "Check the policy's decoding (statistics, gripper rule) or the action space bounds.");
        }
    }
}

/// <summary>An action was refused before reaching the simulator (wrong length, not finite, or out of bounds).</summary>
public sealed class InvalidRobotActionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InvalidRobotActionException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InvalidRobotActionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public InvalidRobotActionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
