using System.CommandLine;
using System.Text;
using System.Text.Json.Serialization;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Magma.Inference.Video;

namespace Magma.Cli.Commands;

/// <summary><c>magma chat --model &lt;pkg&gt; [--image f]... [--video f [--frames n]]... "question"</c>: streams the answer to stdout.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelArguments(defaultMaxTokens: 512);
        var question = new Argument<string>("question") { Description = "What to ask." };
        var images = new Option<string[]>("--image", "-i") { Description = "An image file to show the model (PNG, JPEG, WebP, ...); repeat for several, in order." };
        var videos = new Option<string[]>("--video")
        {
            Description = "A video file (MP4, WebM, MKV through ffmpeg; GIF) to show as evenly sampled frames, after the images; repeat for several.",
        };
        var frames = new Option<int?>("--frames")
        {
            Description = "Frames per video, sampled evenly (default: as many as fit the context, at most 32; one 512px crop each).",
        };
        frames.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1)
            {
                r.AddError("--frames must be at least 1.");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (text, finish_reason, usage, sampled video frames) instead of streaming text." };
        var command = new Command("chat", "Ask the model a question, optionally about images and videos, and stream the answer (greedy decoding).")
        {
            question, images, videos, frames, json,
        };
        CliHelp.SetEpilogue(command, """
            Examples:
              magma chat -m ./magma-8b-onnx "What is 1+1?"
              magma chat -m ./magma-8b-onnx --image photo.jpg "What is in the picture?"
              magma chat -m ./magma-8b-onnx --video clip.mp4 --frames 16 --json "What happens in the video?"

            Exit codes: 0 answered, 1 package/image/video/device error (also: ffmpeg missing, too many frames for the
            context), 2 usage, 130 cancelled (Ctrl+C).
            """);
        model.AddTo(command);
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, () => RunAsync(
            parse, model, parse.GetRequiredValue(question), parse.GetValue(images) ?? [], parse.GetValue(videos) ?? [], parse.GetValue(frames), parse.GetValue(json), ct), ct));
        return command;
    }

    private static async Task<int> RunAsync(
        ParseResult parse, ModelArguments args, string question, string[] imagePaths, string[] videoPaths, int? frames, bool json, CancellationToken ct)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        // Images and videos first: a typo in a path should fail before seconds of model loading. Only headers are read;
        // pixels are decoded once the request's budgets (context, decoded pixels) hold.
        EncodedImage[] images = [.. imagePaths.Select(p => EncodedImage.Load(p))];
        foreach (string v in videoPaths.Where(v => !File.Exists(v)))
        {
            throw new MagmaInputException($"Video file '{v}' does not exist. Check the path.");
        }

        // Created before the model loads: the reader starts its ffmpeg meanwhile (VideoDecoderOptions.KeepDecoderWarm).
        VideoReader? reader = videoPaths.Length == 0 ? null : new VideoReader();
        await using MagmaModel model = args.Load(parse);
        int maxTokens = parse.GetValue(args.MaxTokens);
        using VideoRequest? video = reader is null ? null : await CreateVideoRequestAsync(model, images, videoPaths, question, frames, maxTokens, reader, ct).ConfigureAwait(false);
        MagmaRequest request = video?.Request ?? CreateRequest(model, images, question, maxTokens);

        var text = new StringBuilder();
        MagmaStreamUpdate? last = null;
        bool started = false;
        await foreach (MagmaStreamUpdate update in model.StreamAsync(request, ct).ConfigureAwait(false))
        {
            last = update;
            text.Append(update.Text);
            if (json)
            {
                continue;
            }

            // GenerateAsync trims the answer; trimming the stream's start keeps the printed text the same.
            string delta = started ? update.Text : update.Text.TrimStart();
            if (delta.Length > 0)
            {
                started = true;
                await output.WriteAsync(delta).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }
        }

        if (json)
        {
            IReadOnlyList<SampledFrame>? sampled = video?.Frames.Select(f => new SampledFrame(f.Index, f.Timestamp?.TotalSeconds)).ToList();
            await output.WriteLineAsync(CliJson.Serialize(new ChatResult(text.ToString().Trim(), last?.FinishReason, last?.Usage, sampled))).ConfigureAwait(false);
        }
        else
        {
            await output.WriteLineAsync().ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// The request the command sends: Magma's system prompt and one placeholder line per image before the question
    /// (with one image, exactly <see cref="MagmaRequest.Ask"/>).
    /// </summary>
    /// <summary>
    /// The request with videos: Magma's system prompt, one placeholder line per image, then per sampled video frame
    /// (lmms-eval's layout), then the question; frames are budgeted against the context (docs/video.md).
    /// </summary>
    internal static Task<VideoRequest> CreateVideoRequestAsync(
        MagmaModel model, IReadOnlyList<EncodedImage> images, IReadOnlyList<string> videoPaths, string question, int? frames, int maxTokens, VideoReader reader, CancellationToken ct)
    {
        List<VideoPromptPart> parts = [.. images.Select(VideoPromptPart.Image), .. videoPaths.Select(VideoPromptPart.VideoFile), VideoPromptPart.Text(question)];
        return model.CreateRequestAsync(
            [new VideoChatTurn(ChatRole.System, [VideoPromptPart.Text(MagmaPrompts.SystemPrompt)]), new VideoChatTurn(ChatRole.User, parts)],
            new VideoSampling { FrameCount = frames },
            new GenerationOptions { MaxNewTokens = maxTokens },
            reader,
            ct);
    }

    internal static MagmaRequest CreateRequest(MagmaModel model, IReadOnlyList<EncodedImage> images, string question, int maxTokens)
    {
        ChatContent user = ChatContent.Join("\n", [.. images.Select(_ => MagmaPrompts.Image(model.UseImageStartEnd)), question]);
        return model.CreateRequest(MagmaPrompts.Conversation(user), images, new GenerationOptions { MaxNewTokens = maxTokens });
    }
}

/// <summary>What <c>magma chat --json</c> prints (<c>video_frames</c> only with <c>--video</c>).</summary>
internal sealed record ChatResult(
    string Text, FinishReason? FinishReason, MagmaUsage? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SampledFrame>? VideoFrames = null);

/// <summary>One video frame the model saw: its index in the video and its time in seconds.</summary>
internal sealed record SampledFrame(int Index, double? TimeSeconds);
