namespace Magma.Inference.Generation;

/// <summary>
/// How a request samples and when it stops. Defaults are greedy decoding with Magma's stop token. A record: change one
/// field of a preset with <c>with</c>, e.g. <c>GenerationOptions.RobotAction with { Seed = 7 }</c>.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate (the stop token included). Default 512.</summary>
    public int MaxNewTokens { get; init; } = 512;

    /// <summary>Sample instead of taking the most likely token. Default false (greedy).</summary>
    public bool DoSample { get; init; }

    /// <summary>Softmax temperature when sampling; 1 leaves logits unchanged. Default 1.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>
    /// Keep only the k most likely tokens when sampling; null means Hugging Face's implicit default of 50, 0 turns
    /// the filter off.
    /// </summary>
    public int? TopK { get; init; }

    /// <summary>Nucleus filter: keep the smallest set of tokens whose probability reaches this mass. Default 1 (off).</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Seed of the sampler's random generator; the same seed gives the same tokens run to run. Null picks one at random.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Token ids that end generation (kept in the returned ids, not in the text). Null uses the package's EOS ids plus 128001.</summary>
    public IReadOnlyList<int>? StopTokenIds { get; init; }

    /// <summary>Strings that end generation when they appear in the decoded text; the stop string itself is not returned.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Logits processors applied in order before sampling (for example <see cref="ActionTokenConstraint"/>).</summary>
    public IReadOnlyList<ILogitsProcessor> LogitsProcessors { get; init; } = [];

    /// <summary>HF's implicit top-k when sampling and none is set.</summary>
    public const int DefaultSamplingTopK = 50;

    /// <summary>Greedy decoding (the options for chat, UI grounding and the README examples).</summary>
    public static GenerationOptions Greedy { get; } = new();

    /// <summary>Magma's robot-action sampling: temperature 0.7 and HF's implicit top-k 50.</summary>
    public static GenerationOptions RobotAction { get; } = new() { DoSample = true, Temperature = 0.7f, MaxNewTokens = 8 };

    internal void Validate()
    {
        if (MaxNewTokens < 1)
        {
            throw new MagmaInputException($"GenerationOptions.MaxNewTokens is {MaxNewTokens}; it must be at least 1.");
        }

        if (DoSample && !(Temperature > 0f) )
        {
            throw new MagmaInputException($"GenerationOptions.Temperature is {Temperature}; it must be above 0 when DoSample is true (use DoSample = false for greedy).");
        }

        if (TopK is < 0)
        {
            throw new MagmaInputException($"GenerationOptions.TopK is {TopK}; use a positive k, or 0 to turn the filter off.");
        }

        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new MagmaInputException($"GenerationOptions.TopP is {TopP}; it must be in (0, 1].");
        }

        foreach (string s in StopStrings)
        {
            if (string.IsNullOrEmpty(s))
            {
                throw new MagmaInputException("GenerationOptions.StopStrings holds an empty string; remove it.");
            }
        }
    }
}
