using Magma.Inference.Text;

namespace Magma.SemanticKernel;

/// <summary>Defaults of a <see cref="MagmaChatClient"/> that a request's <c>ChatOptions</c> does not set.</summary>
public sealed class MagmaChatClientOptions
{
    /// <summary>
    /// System prompt added when the conversation has none; Magma's own ("You are agent that can see, talk and act.")
    /// by default, so a bare user message gets exactly the prompt the reference code builds. Null adds none.
    /// </summary>
    public string? DefaultSystemPrompt { get; set; } = MagmaPrompts.SystemPrompt;

    /// <summary>Most tokens to generate when <c>ChatOptions.MaxOutputTokens</c> is not set. Default 512.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 512;

    /// <summary>The model id reported in metadata and responses; the package's <c>model_id</c> when null.</summary>
    public string? ModelId { get; set; }
}
