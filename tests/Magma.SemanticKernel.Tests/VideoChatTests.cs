using System.Diagnostics;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Video;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using AiTextContent = Microsoft.Extensions.AI.TextContent;
using SkTextContent = Microsoft.SemanticKernel.TextContent;

namespace Magma.SemanticKernel.Tests;

/// <summary>Videos through MagmaChatClient, SK chat completion and MagmaVideoPlugin on the tiny package (ffmpeg-made clips).</summary>
[Collection(TinyKernelGroup.Name)]
public sealed class VideoChatTests(TinyKernelFixture fx)
{
    private const string Question = "What happens in the video?";
    private const int PerFrame = 272;

    private string Clip => MakeClip("clip.mp4", "libx264");

    private static ChatOptions Frames(int frames, int maxTokens = 6) => new()
    {
        MaxOutputTokens = maxTokens,
        AdditionalProperties = new() { [MagmaChatOptionKeys.VideoFrames] = frames },
    };

    [Fact]
    public async Task A_file_uri_video_gives_the_same_answer_as_the_engines_video_request()
    {
        string clip = Clip;
        using VideoRequest direct = await fx.Model.CreateRequestAsync(clip, Question, new VideoSampling { FrameCount = 3 }, new GenerationOptions { MaxNewTokens = 6 });
        MagmaResponse engine = await fx.Model.GenerateAsync(direct.Request);

        ChatResponse reply = await fx.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new UriContent(new Uri(clip), "video/mp4"), new AiTextContent(Question)])], Frames(3));

        Assert.False(string.IsNullOrEmpty(engine.Text));
        Assert.Equal(engine.Text, reply.Text);
        Assert.Equal(3 * PerFrame, reply.Usage!.AdditionalCounts!["magma.image_tokens"]);
        Assert.Equal(direct.Plan.PromptPositions, reply.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Video_bytes_as_DataContent_equal_the_file_and_leave_no_temporary_file()
    {
        string clip = MakeClip("clip.webm", "libvpx-vp9");
        string[] before = Directory.GetFiles(Path.GetTempPath(), "magma-video-*");

        ChatResponse fromBytes = await fx.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new DataContent(File.ReadAllBytes(clip), "video/webm"), new AiTextContent(Question)])], Frames(2));
        ChatResponse fromFile = await fx.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new UriContent(new Uri(clip), "video/webm"), new AiTextContent(Question)])], Frames(2));

        Assert.Equal(fromFile.Text, fromBytes.Text);
        Assert.Equal(2 * PerFrame, fromBytes.Usage!.AdditionalCounts!["magma.image_tokens"]);
        Assert.Equal(before, Directory.GetFiles(Path.GetTempPath(), "magma-video-*"));
    }

    [Fact]
    public async Task Image_and_video_keep_their_order_and_frame_count_follows_the_option()
    {
        string clip = Clip;
        var image = new DataContent(TinyKernelFixture.Picture(5).EncodePng(), "image/png");
        var video = new UriContent(new Uri(clip), "video/mp4");

        ChatResponse imageFirst = await fx.Client.GetResponseAsync([new ChatMessage(ChatRole.User, [image, video, new AiTextContent(Question)])], Frames(2));
        ChatResponse videoFirst = await fx.Client.GetResponseAsync([new ChatMessage(ChatRole.User, [video, image, new AiTextContent(Question)])], Frames(2));
        ChatResponse fourFrames = await fx.Client.GetResponseAsync([new ChatMessage(ChatRole.User, [video, new AiTextContent(Question)])], Frames(4));

        Assert.Equal(3 * PerFrame, imageFirst.Usage!.AdditionalCounts!["magma.image_tokens"]);
        Assert.Equal(3 * PerFrame, videoFirst.Usage!.AdditionalCounts!["magma.image_tokens"]);
        Assert.NotEqual(imageFirst.Text, videoFirst.Text);
        Assert.Equal(4 * PerFrame, fourFrames.Usage!.AdditionalCounts!["magma.image_tokens"]);
    }

    [Fact]
    public async Task Streaming_a_video_chat_concatenates_to_the_answer()
    {
        List<ChatMessage> chat = [new ChatMessage(ChatRole.User, [new UriContent(new Uri(Clip), "video/mp4"), new AiTextContent(Question)])];
        ChatResponse full = await fx.Client.GetResponseAsync(chat, Frames(2, 10));

        string streamed = string.Concat(await fx.Client.GetStreamingResponseAsync(chat, Frames(2, 10)).Select(u => u.Text).ToListAsync());

        Assert.False(string.IsNullOrEmpty(full.Text));
        Assert.Equal(full.Text, streamed);
    }

    [Fact]
    public async Task Too_many_frames_fail_with_the_count_that_fits()
    {
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => fx.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new UriContent(new Uri(Clip), "video/mp4"), new AiTextContent(Question)])], Frames(30, 512)));

        Assert.Contains("frames per video would fit", e.Message, StringComparison.Ordinal);
        Assert.Contains("VideoSampling.FrameCount", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Semantic_kernel_chat_takes_video_binary_content_and_settings()
    {
        string clip = Clip;
        var history = new ChatHistory();
        history.AddUserMessage([new BinaryContent(File.ReadAllBytes(clip), "video/mp4"), new SkTextContent(Question)]);

        ChatMessageContent reply = await fx.Chat.GetChatMessageContentAsync(history, new MagmaPromptExecutionSettings { MaxTokens = 6, VideoFrames = 3 }, fx.Kernel);
        ChatResponse direct = await fx.Client.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new UriContent(new Uri(clip), "video/mp4"), new AiTextContent(Question)])], Frames(3));

        Assert.False(string.IsNullOrEmpty(reply.Content));
        Assert.Equal(direct.Text, reply.Content);
    }

    [Fact]
    public async Task Kernel_function_answer_about_video_answers_with_the_requested_frames()
    {
        string clip = Clip;
        KernelPlugin plugin = KernelPluginFactory.CreateFromObject(new MagmaVideoPlugin(fx.Model, maxOutputTokens: 8), "MagmaVideo");
        KernelFunction function = plugin["answer_about_video"];

        FunctionResult result = await function.InvokeAsync(fx.Kernel, new KernelArguments { ["question"] = Question, ["path"] = clip, ["frames"] = 2 });
        using VideoRequest direct = await fx.Model.CreateRequestAsync(clip, Question, new VideoSampling { FrameCount = 2 }, new GenerationOptions { MaxNewTokens = 8 });
        MagmaResponse engine = await fx.Model.GenerateAsync(direct.Request);

        Assert.Equal(["question", "path", "frames"], function.Metadata.Parameters.Select(p => p.Name));
        Assert.Equal(engine.Text, result.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(engine.Text));
    }

    [Fact]
    public async Task Kernel_function_rejects_a_web_url_naming_it()
    {
        var plugin = new MagmaVideoPlugin(fx.Model);

        var e = await Assert.ThrowsAsync<MagmaInputException>(() => plugin.AnswerAboutVideoAsync(Question, "https://example.com/v.mp4"));

        Assert.Contains("https://example.com/v.mp4", e.Message, StringComparison.Ordinal);
    }

    private string MakeClip(string name, string codec)
    {
        string path = Path.Combine(fx.TempDirectory, name);
        if (File.Exists(path))
        {
            return path;
        }

        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (string a in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", codec, "-y", path + ".part." + Path.GetExtension(path).TrimStart('.')])
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
        File.Move(path + ".part." + Path.GetExtension(path).TrimStart('.'), path, overwrite: true);
        return path;
    }
}
