using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Policy;

/// <summary>How <see cref="MagmaPolicy"/> generates and checks actions.</summary>
public sealed class MagmaPolicyOptions
{
    /// <summary>
    /// Sampling; the reference's settings by default (temperature 0.7, top-k 50). Use
    /// <see cref="GenerationOptions.Greedy"/> for deterministic runs. The action-token constraint is always added.
    /// </summary>
    public GenerationOptions Generation { get; init; } = GenerationOptions.RobotAction;

    /// <summary>Lower-case the instruction as the LIBERO training data was (spec §6.1). Default true.</summary>
    public bool LowerCaseInstruction { get; init; } = true;

    /// <summary>Bounds every decoded action must satisfy (checked before it is returned).</summary>
    public LiberoActionSpace ActionSpace { get; init; } = LiberoActionSpace.Default;
}
