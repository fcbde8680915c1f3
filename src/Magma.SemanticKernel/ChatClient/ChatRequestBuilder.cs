using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Microsoft.Extensions.AI;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using MagmaChatRole = Magma.Inference.Text.ChatRole;

namespace Magma.SemanticKernel;

/// <summary>
/// Turns M.E.AI messages and options into a <see cref="MagmaRequest"/>: each message becomes one chat turn whose
/// items (text, images) are joined by newlines in order, each image replaced by Magma's placeholder, so
/// <c>[image, "question"]</c> renders exactly as the reference's <c>{image}\n{question}</c>.
/// </summary>
internal static class ChatRequestBuilder
{
    public static MagmaRequest Build(IChatClient client, IEnumerable<ChatMessage> messages, ChatOptions? options, MagmaModel model, MagmaChatClientOptions clientOptions)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string placeholder = MagmaPrompts.Image(model.UseImageStartEnd);
        var turns = new List<ChatTurn>();
        var images = new List<RgbImage>();
        var parts = new List<string>();
        int index = 0;
        bool hasSystem = false;
        foreach (ChatMessage message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            MagmaChatRole role = MapRole(message.Role, index);
            hasSystem |= role == MagmaChatRole.System;
            parts.Clear();
            for (int c = 0; c < message.Contents.Count; c++)
            {
                AIContent content = message.Contents[c];
                switch (content)
                {
                    case TextContent text:
                        if (text.Text.Contains(MagmaPrompts.ImagePlaceholder, StringComparison.Ordinal))
                        {
                            throw new MagmaInputException(
                                $"Message {index} content {c} (text) contains the literal image placeholder '{MagmaPrompts.ImagePlaceholder}'; send images as DataContent or UriContent items instead, the client writes the placeholders.");
                        }

                        parts.Add(text.Text);
                        break;
                    case DataContent data:
                        if (!data.HasTopLevelMediaType("image"))
                        {
                            throw new NotSupportedException(
                                $"Message {index} content {c} is DataContent with media type '{data.MediaType}'; Magma reads images only (image/png, image/jpeg, image/webp, image/bmp, image/gif).");
                        }

                        images.Add(RgbImage.Decode(data.Data.Span, sourceName: data.Name ?? $"message {index} content {c} ({data.MediaType})"));
                        parts.Add(placeholder);
                        break;
                    case UriContent uri:
                        images.Add(LoadUri(uri, index, c));
                        parts.Add(placeholder);
                        break;
                    case UsageContent:
                        // Usage of an earlier response (streamed updates carry it): metadata, not something the model reads.
                        break;
                    default:
                        throw new NotSupportedException(
                            $"Message {index} content {c} is {content.GetType().Name}; MagmaChatClient sends only TextContent, DataContent (image/*) and UriContent (file: URIs of images). Magma does not call tools: expose MagmaVisionPlugin to a planner model instead.");
                }
            }

            turns.Add(new ChatTurn(role, string.Join('\n', parts)));
            index++;
        }

        if (index == 0)
        {
            throw new ArgumentException("The chat has no messages; add at least one user message.", nameof(messages));
        }

        if (!hasSystem && clientOptions.DefaultSystemPrompt is { } system)
        {
            turns.Insert(0, new ChatTurn(MagmaChatRole.System, system));
        }

        return new MagmaRequest { Turns = turns, Images = images, Options = MapOptions(client, options, model, clientOptions) };
    }

    private static MagmaChatRole MapRole(AiChatRole role, int index)
    {
        if (role == AiChatRole.User)
        {
            return MagmaChatRole.User;
        }

        if (role == AiChatRole.Assistant)
        {
            return MagmaChatRole.Assistant;
        }

        // "developer" is OpenAI's newer name for system instructions; LLaMA-3 has only "system".
        if (role == AiChatRole.System || string.Equals(role.Value, "developer", StringComparison.OrdinalIgnoreCase))
        {
            return MagmaChatRole.System;
        }

        throw new NotSupportedException(
            $"Message {index} has role '{role.Value}'; Magma's chat template has system, user and assistant turns only (Magma does not call tools, so tool messages cannot be sent to it).");
    }

    private static RgbImage LoadUri(UriContent content, int index, int c)
    {
        Uri uri = content.Uri;
        if (!uri.IsAbsoluteUri || !uri.IsFile)
        {
            throw new NotSupportedException(
                $"Message {index} content {c} is UriContent '{uri}'; only file: URIs of local images are read (Magma runs offline). Download the image and send its bytes as DataContent.");
        }

        if (!content.HasTopLevelMediaType("image") && content.MediaType != "application/octet-stream")
        {
            throw new NotSupportedException(
                $"Message {index} content {c} is UriContent '{uri}' with media type '{content.MediaType}'; Magma reads images only.");
        }

        string path = uri.LocalPath;
        if (!File.Exists(path))
        {
            throw new MagmaInputException($"Message {index} content {c}: the image file '{path}' does not exist.");
        }

        return RgbImage.Load(path);
    }

    /// <summary>Maps <see cref="ChatOptions"/> onto <see cref="GenerationOptions"/>; options Magma cannot honour fail loudly.</summary>
    internal static GenerationOptions MapOptions(IChatClient client, ChatOptions? options, MagmaModel model, MagmaChatClientOptions clientOptions)
    {
        if (options?.RawRepresentationFactory?.Invoke(client) is GenerationOptions raw)
        {
            // The M.E.AI-sanctioned route for implementation-specific options: used as given.
            return raw;
        }

        if (options is null)
        {
            return new GenerationOptions { MaxNewTokens = clientOptions.DefaultMaxOutputTokens };
        }

        if (options.FrequencyPenalty is not null || options.PresencePenalty is not null)
        {
            throw new NotSupportedException(
                $"ChatOptions.FrequencyPenalty ({options.FrequencyPenalty?.ToString() ?? "null"}) / PresencePenalty ({options.PresencePenalty?.ToString() ?? "null"}) are not supported by Magma's sampler; leave them null.");
        }

        if (options.ResponseFormat is ChatResponseFormatJson)
        {
            throw new NotSupportedException("ChatOptions.ResponseFormat is JSON; Magma has no JSON mode. Leave ResponseFormat null or Text.");
        }

        if (options.Tools is { Count: > 0 } && options.ToolMode is RequiredChatToolMode)
        {
            throw new NotSupportedException(
                "ChatOptions.ToolMode requires a tool call, but Magma does not call tools. Use a planner chat model with MagmaVisionPlugin's functions instead.");
        }

        AdditionalPropertiesDictionary? extra = options.AdditionalProperties;
        bool? doSample = null;
        if (extra is not null && extra.TryGetValue(MagmaChatOptionKeys.DoSample, out bool sample))
        {
            doSample = sample;
        }

        bool sampling = doSample ?? options.Temperature > 0f;
        var processors = new List<ILogitsProcessor>();
        if (extra is not null && extra.TryGetValue(MagmaChatOptionKeys.ActionConstraint, out bool constrain) && constrain)
        {
            processors.Add(new ActionTokenConstraint(model.Package.Manifest.Tokens.BaseVocabSize, model.Package.Manifest.Tokens.Eos[0]));
        }

        return new GenerationOptions
        {
            MaxNewTokens = options.MaxOutputTokens ?? clientOptions.DefaultMaxOutputTokens,
            DoSample = sampling,
            Temperature = sampling ? options.Temperature ?? 1f : 1f,
            TopK = options.TopK,
            TopP = options.TopP ?? 1f,
            Seed = options.Seed is long seed ? unchecked((ulong)seed) : null,
            StopStrings = options.StopSequences is { Count: > 0 } stops ? [.. stops] : [],
            LogitsProcessors = processors,
        };
    }
}
