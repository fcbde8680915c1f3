namespace Magma.Tasks.Decoding;

/// <summary>
/// A decoded 7-DoF robot action: [x, y, z, roll, pitch, yaw, gripper] at each stage of decoding.
/// </summary>
/// <param name="TokenIds">The 7 action token ids the values came from.</param>
/// <param name="Normalized">Bin centres in (-1, 1), one per dimension (spec §6.4).</param>
/// <param name="Unnormalized">After BOUNDS_Q99 un-normalisation with the dataset statistics (spec §6.5).</param>
/// <param name="Command">
/// What to send to the environment: the un-normalised values after the embodiment rules — gripper rule,
/// and for SimplerEnv the Euler → axis·angle conversion and action scale (spec §6.6–6.7).
/// </param>
public sealed record RobotAction(
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<double> Normalized,
    IReadOnlyList<double> Unnormalized,
    IReadOnlyList<double> Command)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"RobotAction [{string.Join(", ", Command.Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)))}]";
}
