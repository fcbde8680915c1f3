using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Libero;

namespace Magma.Plugins.Robotics.Policy;

/// <summary>How <see cref="MagmaPolicy"/> generates and checks actions.</summary>
public sealed class MagmaPolicyOptions
{
    /// <summary>
    /// Sampling; the reference evaluation's settings by default (it samples: temperature 0.7, top-k 50), seeded by
    /// <see cref="Seed"/>. <see cref="GenerationOptions.Greedy"/> decodes the argmax tokens instead (no randomness; the
    /// reference's tokens for the same logits). The action-token constraint is always added. What is and is not
    /// reproducible versus the reference: docs/robotics.md, "Reproducibility versus the reference".
    /// </summary>
    public GenerationOptions Generation { get; init; } = GenerationOptions.RobotAction;

    /// <summary>
    /// Base seed of the sampler, 0 by default as the reference evaluation seeds torch with 0: runs with the same
    /// seed, frames and model give the same actions. Request <c>k</c> of an episode (counted from
    /// <see cref="IRobotPolicy.ResetAsync"/>) samples with a seed derived from this value and <c>k</c>, so an episode
    /// is reproducible on its own, whatever ran before it (resumed or parallel evaluations). This seeds Magma's own
    /// sampler (PCG32), not torch: actions follow the reference's sampling distribution, but not the draws torch
    /// would make with <c>torch.manual_seed(0)</c>. Null leaves <see cref="Generation"/>'s seed as it is (null there: a fresh random
    /// seed per request). No effect on greedy decoding.
    /// </summary>
    public ulong? Seed { get; init; } = 0;

    /// <summary>Lower-case the instruction as the LIBERO training data was (spec §6.1). Default true.</summary>
    public bool LowerCaseInstruction { get; init; } = true;

    /// <summary>Bounds every decoded action must satisfy (checked before it is returned).</summary>
    public LiberoActionSpace ActionSpace { get; init; } = LiberoActionSpace.Default;
}
