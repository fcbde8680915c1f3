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
}
