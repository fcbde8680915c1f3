using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Magma.Inference.Video;
using Magma.Tasks;
using Microsoft.Extensions.AI;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using MagmaChatRole = Magma.Inference.Text.ChatRole;

namespace Magma.SemanticKernel;

/// <summary>
/// Turns M.E.AI messages and options into a <see cref="MagmaRequest"/>: each message becomes one chat turn whose
/// items (text, images) are joined by newlines in order, each image replaced by Magma's placeholder, so
/// <c>[image, "question"]</c> renders exactly as the reference's <c>{image}\n{question}</c>. Texts (system, user,
/// assistant) are plain text: special-token strings in them are tokenized as characters.
/// </summary>
internal static class ChatRequestBuilder
{
    /// <summary>
    /// Builds the request. Conversations with videos (<c>video/*</c> <see cref="DataContent"/>, or a <c>file:</c>
    /// <see cref="UriContent"/> of a video) go through <see cref="MagmaVideo"/>: frames are sampled under the context
    /// budget and decoded (ffmpeg), one placeholder per frame. The result owns pooled frames and any temporary file;
    /// dispose it after the request has run.
    /// </summary>
    public static async Task<ChatRequest> BuildAsync(
        IChatClient client, IEnumerable<ChatMessage> messages, ChatOptions? options, MagmaModel model, MagmaChatClientOptions clientOptions, CancellationToken cancellationToken)
    {
        var temporary = new List<string>();
        try
        {
            List<(MagmaChatRole Role, List<object> Parts)> turns = Collect(messages, clientOptions, temporary);
            GenerationOptions generation = MapOptions(client, options, model, clientOptions);
            if (!turns.Any(t => t.Parts.OfType<VideoPromptPart>().Any()))
            {
                ChatContent placeholder = MagmaPrompts.Image(model.UseImageStartEnd);
                // Budgets (context, decoded pixels) are checked from the headers before any image is decoded.
                MagmaRequest request = model.CreateRequest(
                    [.. turns.Select(t => new ChatTurn(t.Role, ChatContent.Join("\n", t.Parts.Select(p => p is string text ? ChatContent.Text(text) : placeholder))))],
                    [.. turns.SelectMany(t => t.Parts).OfType<EncodedImage>()],
                    generation,
                    cancellationToken);
                return new ChatRequest(request, null, temporary);
            }

            VideoChatTurn[] videoTurns = [.. turns.Select(t => new VideoChatTurn(t.Role, [.. t.Parts.Select(ToPart)]))];
            VideoRequest video = await model.CreateRequestAsync(videoTurns, MapSampling(options), generation, reader: null, cancellationToken).ConfigureAwait(false);
            return new ChatRequest(video.Request, video, temporary);
        }
        catch
        {
            ChatRequest.Delete(temporary);
            throw;
        }
    }

    private static VideoPromptPart ToPart(object part) => part switch
    {
        string text => VideoPromptPart.Text(text),
        EncodedImage image => VideoPromptPart.Image(image),
        _ => (VideoPromptPart)part,
    };

    /// <summary>
    /// Each message's items in order: text (string), images (<see cref="EncodedImage"/>: header read, pixels decoded
    /// only once the request's budgets hold), videos (<see cref="VideoPromptPart"/>).
    /// </summary>
    private static List<(MagmaChatRole Role, List<object> Parts)> Collect(
        IEnumerable<ChatMessage> messages, MagmaChatClientOptions clientOptions, List<string> temporary)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var turns = new List<(MagmaChatRole, List<object>)>();
        int index = 0;
        bool hasSystem = false;
        foreach (ChatMessage message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            MagmaChatRole role = MapRole(message.Role, index);
            hasSystem |= role == MagmaChatRole.System;
            var parts = new List<object>();
            for (int c = 0; c < message.Contents.Count; c++)
            {
                AIContent content = message.Contents[c];
                switch (content)
                {
                    case TextContent text:
                        // Plain text, whatever it contains: "<image>" or "<|eot_id|>" written by a user are characters
                        // (ChatContent), so they are accepted and cannot add an image or a turn.
                        parts.Add(text.Text);
                        break;
                    case DataContent data when data.HasTopLevelMediaType("video"):
                        // ffmpeg needs a seekable file for MP4s whose index sits at the end, so bytes go to a
                        // temporary file, deleted when the request is done.
                        string file = Path.Combine(Path.GetTempPath(), "magma-video-" + Guid.NewGuid().ToString("N") + VideoExtension(data.MediaType));
                        File.WriteAllBytes(file, data.Data.Span);
                        temporary.Add(file);
                        parts.Add(VideoPromptPart.VideoFile(file));
                        break;
                    case DataContent data:
                        if (!data.HasTopLevelMediaType("image"))
                        {
                            throw new NotSupportedException(
                                $"Message {index} content {c} is DataContent with media type '{data.MediaType}'; Magma reads images (image/png, image/jpeg, image/webp, image/bmp, image/gif) and videos (video/mp4, video/webm, video/x-matroska, ...).");
                        }

                        parts.Add(EncodedImage.Read(data.Data, sourceName: data.Name ?? $"message {index} content {c} ({data.MediaType})"));
                        break;
                    case UriContent uri:
                        parts.Add(LoadUri(uri, index, c));
                        break;
                    case UsageContent:
                        // Usage of an earlier response (streamed updates carry it): metadata, not something the model reads.
                        break;
                    default:
                        throw new NotSupportedException(
                            $"Message {index} content {c} is {content.GetType().Name}; MagmaChatClient sends only TextContent, DataContent (image/*, video/*) and UriContent (file: URIs of images and videos). Magma does not call tools: expose MagmaVisionPlugin to a planner model instead.");
                }
            }

            turns.Add((role, parts));
            index++;
        }

        if (index == 0)
        {
            throw new ArgumentException("The chat has no messages; add at least one user message.", nameof(messages));
        }

        if (!hasSystem && clientOptions.DefaultSystemPrompt is { } system)
        {
            turns.Insert(0, (MagmaChatRole.System, [system]));
        }

        return turns;
    }

    /// <summary>Frame count and crop limit from <see cref="MagmaChatOptionKeys"/>; Magma's video defaults otherwise.</summary>
    private static VideoSampling MapSampling(ChatOptions? options)
    {
        AdditionalPropertiesDictionary? extra = options?.AdditionalProperties;
        int? frames = extra is not null && extra.TryGetValue(MagmaChatOptionKeys.VideoFrames, out int f) ? f : null;
        int crops = extra is not null && extra.TryGetValue(MagmaChatOptionKeys.VideoMaxCropsPerFrame, out int c) ? c : VideoSampling.Default.MaxCropsPerFrame;
        return new VideoSampling { FrameCount = frames, MaxCropsPerFrame = crops };
    }

    private static string VideoExtension(string mediaType) => mediaType.ToLowerInvariant() switch
    {
        "video/mp4" => ".mp4",
        "video/webm" => ".webm",
        "video/x-matroska" or "video/matroska" => ".mkv",
        "video/quicktime" => ".mov",
        "video/x-msvideo" => ".avi",
        "image/gif" or "video/gif" => ".gif",
        _ => ".video",
    };

    /// <summary>Video file extensions read as videos when a <c>file:</c> URI's media type is generic.</summary>
    private static readonly string[] VideoExtensions = [".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"];

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

    private static object LoadUri(UriContent content, int index, int c)
    {
        Uri uri = content.Uri;
        if (!uri.IsAbsoluteUri || !uri.IsFile)
        {
            throw new NotSupportedException(
                $"Message {index} content {c} is UriContent '{uri}'; only file: URIs of local images and videos are read (Magma runs offline). Download the file and send its bytes as DataContent.");
        }

        string path = uri.LocalPath;
        bool generic = content.MediaType == "application/octet-stream";
        bool video = content.HasTopLevelMediaType("video") || (generic && VideoExtensions.Contains(Path.GetExtension(path).ToLowerInvariant()));
        if (!video && !content.HasTopLevelMediaType("image") && !generic)
        {
            throw new NotSupportedException(
                $"Message {index} content {c} is UriContent '{uri}' with media type '{content.MediaType}'; Magma reads images and videos only.");
        }

        if (!File.Exists(path))
        {
            throw new MagmaInputException($"Message {index} content {c}: the {(video ? "video" : "image")} file '{path}' does not exist.");
        }

        return video ? VideoPromptPart.VideoFile(path) : EncodedImage.Load(path);
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
            processors.Add(model.ActionConstraint());
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
