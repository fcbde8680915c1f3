using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Inference;

/// <summary>
/// One generation request: images, a chat in which each image is referenced by one placeholder
/// (<see cref="ChatContent.Image"/>, in the order of <see cref="Images"/>), and generation options. Texts in the turns
/// are plain text: special-token strings in them never become special tokens.
/// </summary>
public sealed class MagmaRequest
{
    /// <summary>Images referenced by the chat's placeholders, in order.</summary>
    public IReadOnlyList<RgbImage> Images { get; init; } = [];

    /// <summary>The conversation (system, user, assistant turns); rendered with the LLaMA-3 template and a generation prompt.</summary>
    public required IReadOnlyList<ChatTurn> Turns { get; init; }

    /// <summary>Sampling and stopping; greedy with the package's stop tokens by default.</summary>
    public GenerationOptions Options { get; init; } = GenerationOptions.Greedy;

    /// <summary>
    /// The canonical single-image question: Magma's system prompt and <c>{image}\n{question}</c> (spec §5.3); with no
    /// image, just the question.
    /// </summary>
    /// <param name="image">The image, or null for a text-only question.</param>
    /// <param name="question">The user's question.</param>
    /// <param name="options">Generation options; greedy when null.</param>
    /// <param name="useImageStartEnd">Wrap the placeholder in &lt;image_start&gt;/&lt;image_end&gt; (Magma-8B: true).</param>
    public static MagmaRequest Ask(RgbImage? image, string question, GenerationOptions? options = null, bool useImageStartEnd = true)
    {
        ArgumentNullException.ThrowIfNull(question);
        ChatContent user = image is null ? question : MagmaPrompts.VisualQuestion(question, useImageStartEnd);
        return new MagmaRequest
        {
            Images = image is null ? [] : [image],
            Turns = MagmaPrompts.Conversation(user),
            Options = options ?? GenerationOptions.Greedy,
        };
    }
}

/// <summary>Token counts of one request.</summary>
/// <param name="PromptTokens">Positions the prompt filled after merging images (text ids + image embeddings).</param>
/// <param name="ImageTokens">Of those, image embeddings.</param>
/// <param name="CompletionTokens">Generated tokens (a final stop token included).</param>
public sealed record MagmaUsage(int PromptTokens, int ImageTokens, int CompletionTokens);

/// <summary>The result of <see cref="MagmaModel.GenerateAsync"/>.</summary>
/// <param name="Text">Decoded answer, special tokens skipped, stop string removed, trimmed (spec §5.5).</param>
/// <param name="TokenIds">Generated ids, a final stop token included (what the action decoder reads).</param>
/// <param name="Usage">Token counts.</param>
/// <param name="FinishReason">Why generation ended.</param>
public sealed record MagmaResponse(string Text, IReadOnlyList<int> TokenIds, MagmaUsage Usage, FinishReason FinishReason);

/// <summary>One step of <see cref="MagmaModel.StreamAsync"/>.</summary>
/// <param name="Text">Text settled by this token (often empty: partial characters and possible stop-string starts are held back).</param>
/// <param name="TokenId">The generated id.</param>
/// <param name="FinishReason">Set on the last update.</param>
/// <param name="Usage">Set on the last update.</param>
public sealed record MagmaStreamUpdate(string Text, int TokenId, FinishReason? FinishReason, MagmaUsage? Usage);
