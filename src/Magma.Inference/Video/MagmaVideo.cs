using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Inference.Video;

/// <summary>
/// Questions about videos: Magma's lmms-eval path. Frames are sampled (<see cref="FrameSampler"/>), each becomes one
/// image (one 512² crop by default), and the user turn is one placeholder line per frame, then the question:
/// <c>"&lt;image_start&gt;&lt;image&gt;&lt;image_end&gt;\n" × N + question</c>, after Magma's system prompt. The frame
/// count and crops per frame are chosen so that prompt + max new tokens fit <see cref="MagmaModel.ContextLength"/>.
/// </summary>
public static class MagmaVideo
{
    /// <summary>The user-turn content for <paramref name="frames"/> frames and a question (lmms-eval's layout); the question is plain text.</summary>
    public static ChatContent UserContent(int frames, string question, bool useImageStartEnd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frames);
        ArgumentNullException.ThrowIfNull(question);
        return ChatContent.Join("\n", [.. Enumerable.Repeat(MagmaPrompts.Image(useImageStartEnd), frames), question]);
    }

    /// <summary>
    /// Samples and decodes frames of a video file under the context budget and builds the request. Dispose the
    /// result after running it.
    /// </summary>
    /// <param name="model">The model (its context length, tokenizer and crop settings drive the budget).</param>
    /// <param name="videoPath">MP4, WebM, MKV (through ffmpeg) or GIF.</param>
    /// <param name="question">The question about the video.</param>
    /// <param name="sampling">Which frames and how many crops; <see cref="VideoSampling.Default"/> when null.</param>
    /// <param name="options">Generation options (greedy, as the reference's video evaluation); their max new tokens are reserved in the budget.</param>
    /// <param name="reader">The reader (ffmpeg location); a default one when null.</param>
    /// <param name="cancellationToken">Cancels probing and decoding (ffmpeg is killed).</param>
    /// <exception cref="MagmaInputException">The video cannot be read, or the requested frames do not fit the context (the message says how many would).</exception>
    /// <exception cref="InvalidOperationException">ffmpeg/ffprobe are not installed.</exception>
    public static async Task<VideoRequest> CreateRequestAsync(
        this MagmaModel model, string videoPath, string question, VideoSampling? sampling = null, GenerationOptions? options = null,
        VideoReader? reader = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(question);
        VideoClip clip = await VideoClip.OpenAsync(reader ?? new VideoReader(), videoPath, cancellationToken).ConfigureAwait(false);
        return await BuildAsync(model, clip, question, sampling, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Builds a video request from frames already in memory (e.g. a camera's); sampled like a video file.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="frames">All frames, in order.</param>
    /// <param name="question">The question.</param>
    /// <param name="framesPerSecond">Their rate, for timestamps and rate/range sampling; 0 when unknown.</param>
    /// <param name="sampling">Which frames; <see cref="VideoSampling.Default"/> when null.</param>
    /// <param name="options">Generation options; greedy when null.</param>
    /// <param name="cancellationToken">Cancels the build.</param>
    public static Task<VideoRequest> CreateRequestAsync(
        this MagmaModel model, IReadOnlyList<RgbImage> frames, string question, double framesPerSecond = 0, VideoSampling? sampling = null,
        GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(question);
        return BuildAsync(model, VideoClip.FromFrames(frames, framesPerSecond, "frame list"), question, sampling, options, cancellationToken);
    }

    /// <summary>
    /// Builds a request from a conversation whose turns mix text, images and videos (what the chat client sends).
    /// Every video gets the same frame count (capped by its own length), chosen by the budget. Dispose the result
    /// after running it.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="turns">The conversation; no system prompt is added.</param>
    /// <param name="sampling">Which frames; <see cref="VideoSampling.Default"/> when null.</param>
    /// <param name="options">Generation options; greedy when null.</param>
    /// <param name="reader">The reader for video files; a default one when null.</param>
    /// <param name="cancellationToken">Cancels probing and decoding.</param>
    public static async Task<VideoRequest> CreateRequestAsync(
        this MagmaModel model, IReadOnlyList<VideoChatTurn> turns, VideoSampling? sampling = null, GenerationOptions? options = null,
        VideoReader? reader = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(turns);
        reader ??= new VideoReader();
        var converted = new List<VideoPromptBuilder.ResolvedTurn>(turns.Count);
        foreach (VideoChatTurn turn in turns)
        {
            ArgumentNullException.ThrowIfNull(turn, nameof(turns));
            var parts = new List<object>(turn.Parts.Count);
            foreach (VideoPromptPart part in turn.Parts)
            {
                parts.Add(part.Value is VideoPromptPart.PendingFile file
                    ? await VideoClip.OpenAsync(reader, file.Path, cancellationToken).ConfigureAwait(false)
                    : part.Value);
            }

            converted.Add(new VideoPromptBuilder.ResolvedTurn(turn.Role, parts));
        }

        return await VideoPromptBuilder.BuildAsync(model, converted, sampling ?? VideoSampling.Default, options ?? GenerationOptions.Greedy, cancellationToken).ConfigureAwait(false);
    }

    private static Task<VideoRequest> BuildAsync(
        MagmaModel model, VideoClip clip, string question, VideoSampling? sampling, GenerationOptions? options, CancellationToken cancellationToken) =>
        VideoPromptBuilder.BuildAsync(
            model,
            [new(ChatRole.System, [MagmaPrompts.SystemPrompt]), new(ChatRole.User, [clip, question])],
            sampling ?? VideoSampling.Default,
            options ?? GenerationOptions.Greedy,
            cancellationToken);
}
