namespace Magma.SemanticKernel;

/// <summary>
/// Keys of Magma-specific options in <c>ChatOptions.AdditionalProperties</c>. They are also the JSON names of the
/// matching <see cref="MagmaPromptExecutionSettings"/> properties, so Semantic Kernel settings arrive under them.
/// </summary>
public static class MagmaChatOptionKeys
{
    /// <summary>
    /// <c>bool</c>: constrain the answer to one 7-DoF robot action (seven action tokens, then the stop token), as
    /// <c>MagmaModel.PredictActionAsync</c> does.
    /// </summary>
    public const string ActionConstraint = "action_constraint";

    /// <summary>
    /// <c>bool</c>: sample (true) or decode greedily (false). When absent, a temperature above 0 means sampling and
    /// anything else greedy decoding (Magma's chat default).
    /// </summary>
    public const string DoSample = "do_sample";

    /// <summary>
    /// <c>int</c>: frames per video (sampled uniformly, lmms-eval's rule). When absent, as many as fit the context,
    /// at most 32. A count that does not fit fails with the number that would.
    /// </summary>
    public const string VideoFrames = "video_frames";

    /// <summary><c>int</c>: most crops per video frame. Default 1 (Magma's video training); up to the package's num_crops.</summary>
    public const string VideoMaxCropsPerFrame = "video_max_crops_per_frame";
}
