using System.Text;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.Services;
using Microsoft.SemanticKernel.ChatCompletion;
using ChatRole = Magma.Inference.Text.ChatRole;

namespace Magma.SemanticKernel.Tests;

/// <summary>Magma through a real Semantic Kernel (AddMagmaChatCompletion) on the tiny package.</summary>
[Collection(TinyKernelGroup.Name)]
public sealed class KernelChatTests(TinyKernelFixture fx)
{
    private const string Question = "What is in the image?";

    private static MagmaPromptExecutionSettings Tokens(int n) => new() { MaxTokens = n };

    private static ChatHistory UserImageThenText(RgbImage image, string text)
    {
        var history = new ChatHistory();
        history.AddUserMessage([new ImageContent(image.EncodePng(), "image/png"), new TextContent(text)]);
        return history;
    }

    private static ChatContent Placeholder => MagmaPrompts.Image(useImageStartEnd: true);

    private async Task<string> AskAsync(ChatHistory history, PromptExecutionSettings? settings = null) =>
        (await fx.Chat.GetChatMessageContentAsync(history, settings ?? Tokens(12), fx.Kernel)).Content ?? string.Empty;

    [Fact]
    public async Task Text_and_image_history_returns_exactly_the_engines_greedy_answer()
    {
        RgbImage image = TinyKernelFixture.Picture(1);
        MagmaResponse engine = await fx.Model.GenerateAsync(MagmaRequest.Ask(image, Question, new GenerationOptions { MaxNewTokens = 12 }));

        ChatMessageContent reply = await fx.Chat.GetChatMessageContentAsync(UserImageThenText(image, Question), Tokens(12), fx.Kernel);

        Assert.False(string.IsNullOrEmpty(engine.Text));
        Assert.Equal(engine.Text, reply.Content);
        Assert.Equal(AuthorRole.Assistant, reply.Role);
        Assert.Equal("magma-agents/tiny-magma-random", reply.ModelId);
    }

    [Fact]
    public async Task Streaming_concatenates_to_the_non_streaming_text()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(2), Question);
        string full = await AskAsync(history, Tokens(16));

        var streamed = new StringBuilder();
        int chunks = 0;
        await foreach (StreamingChatMessageContent chunk in fx.Chat.GetStreamingChatMessageContentsAsync(history, Tokens(16), fx.Kernel))
        {
            streamed.Append(chunk.Content);
            chunks++;
        }

        Assert.False(string.IsNullOrEmpty(full));
        Assert.Equal(full, streamed.ToString());
        Assert.True(chunks > 1, $"expected several chunks, got {chunks}");
    }

    [Fact]
    public async Task The_image_matters()
    {
        string a = await AskAsync(UserImageThenText(TinyKernelFixture.Picture(3), Question), Tokens(12));
        string b = await AskAsync(UserImageThenText(TinyKernelFixture.Picture(4), Question), Tokens(12));
        string none = await AskAsync(new ChatHistory { new ChatMessageContent(AuthorRole.User, Question) }, Tokens(12));

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, none);
    }

    [Fact]
    public async Task Two_images_reach_the_model_in_order_across_messages()
    {
        RgbImage first = TinyKernelFixture.Picture(5);
        RgbImage second = TinyKernelFixture.Picture(6, 64, 96);
        var history = new ChatHistory();
        history.AddUserMessage([new TextContent("Look:"), new ImageContent(first.EncodePng(), "image/png")]);
        history.AddAssistantMessage("I see it.");
        history.AddUserMessage([new ImageContent(second.EncodePng(), "image/png"), new TextContent("And this one?")]);

        var turns = new List<ChatTurn>
        {
            new(ChatRole.System, MagmaPrompts.SystemPrompt),
            new(ChatRole.User, "Look:\n" + Placeholder),
            new(ChatRole.Assistant, "I see it."),
            new(ChatRole.User, Placeholder + "\nAnd this one?"),
        };
        var options = new GenerationOptions { MaxNewTokens = 12 };
        MagmaResponse inOrder = await fx.Model.GenerateAsync(new MagmaRequest { Images = [first, second], Turns = turns, Options = options });
        MagmaResponse swapped = await fx.Model.GenerateAsync(new MagmaRequest { Images = [second, first], Turns = turns, Options = options });

        string reply = await AskAsync(history);

        Assert.Equal(inOrder.Text, reply);
        Assert.NotEqual(swapped.Text, reply);
    }

    [Fact]
    public async Task Image_bytes_data_uri_and_file_uri_give_the_same_answer()
    {
        RgbImage image = TinyKernelFixture.Picture(7);
        byte[] png = image.EncodePng();
        string path = fx.SaveToFile(image, "seven.png");

        ChatHistory With(ImageContent content)
        {
            var h = new ChatHistory();
            h.AddUserMessage([content, new TextContent(Question)]);
            return h;
        }

        string fromBytes = await AskAsync(With(new ImageContent(png, "image/png")));
        string fromDataUri = await AskAsync(With(new ImageContent("data:image/png;base64," + Convert.ToBase64String(png))));
        string fromFile = await AskAsync(With(new ImageContent(new Uri(path))));

        Assert.False(string.IsNullOrEmpty(fromBytes));
        Assert.Equal(fromBytes, fromDataUri);
        Assert.Equal(fromBytes, fromFile);
    }

    [Fact]
    public async Task Max_tokens_reaches_the_engine()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(8), Question);
        MagmaResponse engine3 = await fx.Model.GenerateAsync(MagmaRequest.Ask(TinyKernelFixture.Picture(8), Question, new GenerationOptions { MaxNewTokens = 3 }));

        ChatMessageContent reply = await fx.Chat.GetChatMessageContentAsync(history, Tokens(3), fx.Kernel);

        Assert.Equal(engine3.Text, reply.Content);
        var usage = Assert.IsType<Microsoft.Extensions.AI.UsageDetails>(reply.Metadata!["Usage"]);
        Assert.Equal(3, usage.OutputTokenCount);
        Assert.Equal(engine3.Usage.PromptTokens, usage.InputTokenCount);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_and_the_seed_matters()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(9), Question);
        static MagmaPromptExecutionSettings Sampled(long seed) => new() { Temperature = 1.5f, TopK = 0, Seed = seed, MaxTokens = 16 };

        string a = await AskAsync(history, Sampled(42));
        string b = await AskAsync(history, Sampled(42));
        string c = await AskAsync(history, Sampled(43));
        string greedy = await AskAsync(history, Tokens(16));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(a, greedy);
    }

    [Fact]
    public async Task Plain_settings_with_extension_data_work_like_magma_settings()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(10), Question);
        var plain = new PromptExecutionSettings { ExtensionData = new Dictionary<string, object> { ["max_tokens"] = 4, ["temperature"] = 1.2, ["seed"] = 5, ["top_k"] = 0 } };
        var typed = new MagmaPromptExecutionSettings { MaxTokens = 4, Temperature = 1.2f, Seed = 5, TopK = 0 };

        MagmaPromptExecutionSettings converted = MagmaPromptExecutionSettings.FromExecutionSettings(plain);

        Assert.Equal(4, converted.MaxTokens);
        Assert.Equal(5, converted.Seed);
        Assert.Equal(await AskAsync(history, typed), await AskAsync(history, plain));
    }

    [Fact]
    public async Task Stop_sequences_end_the_answer_before_the_stop_string()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(11), Question);
        string full = await AskAsync(history, Tokens(24));
        Assert.True(full.Length >= 6, $"need a longer answer to cut: '{full}'");
        string stop = full.Substring(full.Length / 2, 2);
        int cut = full.IndexOf(stop, StringComparison.Ordinal);

        string stopped = await AskAsync(history, new MagmaPromptExecutionSettings { MaxTokens = 24, StopSequences = [stop] });

        Assert.Equal(full[..cut].Trim(), stopped);
    }

    [Fact]
    public async Task Action_constraint_setting_yields_seven_action_tokens()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(12), "What action should the robot take to pick up the cup?");
        var settings = new MagmaPromptExecutionSettings { ActionConstraint = true, MaxTokens = 8 };

        ChatMessageContent reply = await fx.Chat.GetChatMessageContentAsync(history, settings, fx.Kernel);

        var usage = Assert.IsType<Microsoft.Extensions.AI.UsageDetails>(reply.Metadata!["Usage"]);
        Assert.Equal(8, usage.OutputTokenCount); // 7 action tokens + the stop token
    }

    [Fact]
    public void Attributes_carry_the_model_id_and_the_package_path()
    {
        Assert.Equal("magma-agents/tiny-magma-random", fx.Chat.GetModelId());
        string endpoint = Assert.IsType<string>(fx.Chat.GetEndpoint());
        Assert.Equal(new Uri(TinyKernelFixture.PackageDirectory + "/"), new Uri(endpoint));
    }

    [Fact]
    public async Task Cancellation_stops_a_streaming_request_and_the_model_stays_usable()
    {
        ChatHistory history = UserImageThenText(TinyKernelFixture.Picture(13), Question);
        using var cts = new CancellationTokenSource();
        int received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (StreamingChatMessageContent _ in fx.Chat.GetStreamingChatMessageContentsAsync(
                history, new MagmaPromptExecutionSettings { MaxTokens = 500, }, fx.Kernel, cts.Token))
            {
                received++;
                await cts.CancelAsync();
            }
        });
        Assert.Equal(1, received);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fx.Chat.GetChatMessageContentAsync(history, Tokens(4), fx.Kernel, cancelled.Token));

        Assert.False(string.IsNullOrEmpty(await AskAsync(history, Tokens(4))));
    }

    [Fact]
    public async Task Thirty_two_concurrent_requests_each_equal_their_sequential_result()
    {
        var histories = Enumerable.Range(0, 32).Select(i =>
            i % 2 == 0
                ? UserImageThenText(TinyKernelFixture.Picture(100 + i, 32 + i, 40), $"Question {i}?")
                : new ChatHistory { new ChatMessageContent(AuthorRole.User, $"Question number {i}, answer briefly.") }).ToList();
        var sequential = new List<string>();
        foreach (ChatHistory h in histories)
        {
            sequential.Add(await AskAsync(h, Tokens(6)));
        }

        string[] concurrent = await Task.WhenAll(histories.Select(h => Task.Run(() => AskAsync(h, Tokens(6)))));

        Assert.Equal(sequential, concurrent);
        Assert.True(sequential.Distinct().Count() > 1, $"the prompts should not all give the same answer ({sequential.Distinct().Count()} distinct)");
    }

    [Fact]
    public async Task Unsupported_content_is_a_not_supported_error_naming_it()
    {
        var audio = new ChatHistory();
        audio.AddUserMessage([new TextContent("Listen"), new AudioContent(new byte[] { 1, 2, 3 }, "audio/wav")]);
        var web = new ChatHistory();
        web.AddUserMessage([new ImageContent(new Uri("https://example.com/cat.png")), new TextContent(Question)]);

        var audioError = await Assert.ThrowsAsync<NotSupportedException>(() => AskAsync(audio));
        var webError = await Assert.ThrowsAsync<NotSupportedException>(() => AskAsync(web));

        Assert.Contains("audio/wav", audioError.Message, StringComparison.Ordinal);
        Assert.Contains("DataContent", audioError.Message, StringComparison.Ordinal);
        Assert.Contains("https://example.com/cat.png", webError.Message, StringComparison.Ordinal);
        Assert.Contains("file:", webError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversize_prompt_is_a_magma_input_error_naming_the_limit()
    {
        using var services = new ServiceCollection()
            .AddMagmaChatCompletion(TinyKernelFixture.PackageDirectory, new MagmaModelOptions { IntraOpThreads = 1, MaxSequenceLength = 64 })
            .BuildServiceProvider();
        var kernel = new Kernel(services);
        var chat = kernel.GetRequiredService<IChatCompletionService>();

        var error = await Assert.ThrowsAsync<MagmaInputException>(
            () => chat.GetChatMessageContentAsync(UserImageThenText(TinyKernelFixture.Picture(14), Question), Tokens(4), kernel));

        Assert.Contains("context limit of 64", error.Message, StringComparison.Ordinal);
    }
}
