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

    /// <summary>
    /// Base seed of the sampler, 0 by default as the reference evaluation seeds torch with 0: runs with the same
    /// seed, frames and model give the same actions. Request <c>k</c> of an episode (counted from
    /// <see cref="IRobotPolicy.ResetAsync"/>) samples with a seed derived from this value and <c>k</c>, so an episode
    /// is reproducible on its own, whatever ran before it (resumed or parallel evaluations); torch's own random
    /// stream is not reproduced. Null leaves <see cref="Generation"/>'s seed as it is (null there: a fresh random
    /// seed per request). No effect on greedy decoding.
    /// </summary>
    public ulong? Seed { get; init; } = 0;

    /// <summary>Lower-case the instruction as the LIBERO training data was (spec §6.1). Default true.</summary>
    public bool LowerCaseInstruction { get; init; } = true;

    /// <summary>Bounds every decoded action must satisfy (checked before it is returned).</summary>
    public LiberoActionSpace ActionSpace { get; init; } = LiberoActionSpace.Default;
}
