namespace Magma.Inference.Generation;

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>A stop token (EOS) was generated.</summary>
    StopToken = 0,

    /// <summary>A stop string appeared in the text; the returned text ends before it.</summary>
    StopString = 1,

    /// <summary>GenerationOptions.MaxNewTokens tokens were generated.</summary>
    MaxTokens = 2,

    /// <summary>The model's context (max_position_embeddings, or MagmaModelOptions.MaxSequenceLength) is full.</summary>
    ContextLimit = 3,
}
