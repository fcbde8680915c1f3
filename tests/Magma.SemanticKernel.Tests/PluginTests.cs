using System.Runtime.CompilerServices;
using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using ChatRole = Microsoft.Extensions.AI.ChatRole;
using FunctionCallContent = Microsoft.Extensions.AI.FunctionCallContent;
using FunctionResultContent = Microsoft.Extensions.AI.FunctionResultContent;
using TextContent = Microsoft.Extensions.AI.TextContent;

namespace Magma.SemanticKernel.Tests;

/// <summary>
/// MagmaVisionPlugin as tools of a planner model. The planner is the only test double (no planner model runs here):
/// it asks for one tool call, then answers; Magma itself is the real tiny model.
/// </summary>
[Collection(TinyKernelGroup.Name)]
public sealed class PluginTests(TinyKernelFixture fx)
{
    [Fact]
    public void The_kernel_plugin_exposes_four_described_functions()
    {
        KernelPlugin plugin = fx.Kernel.Plugins[MagmaVisionPlugin.DefaultPluginName];

        Assert.Equal(["answer_about_image", "describe_image", "ground", "plan_trace"], plugin.Select(f => f.Name).Order());
        Assert.All(plugin, f => Assert.True(f.Description.Length > 40, $"{f.Name} needs a description a model can use"));
        Assert.All(plugin, f => Assert.Contains(f.Metadata.Parameters, p => p.Name == "image" && p.Description.Contains("file path", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_planner_calls_describe_image_through_FunctionChoiceBehavior_and_gets_magmas_answer()
    {
        RgbImage image = TinyKernelFixture.Picture(21);
        string path = fx.SaveToFile(image, "describe.png");
        string expected = (await fx.Model.GenerateAsync(MagmaRequest.Ask(image, "Describe this image.", new GenerationOptions { MaxNewTokens = 256 }))).Text;
        var planner = new ScriptedPlanner("MagmaVision_describe_image", new Dictionary<string, object?> { ["image"] = path });
        Kernel kernel = PlannerKernel(planner, new MagmaVisionPlugin(fx.Model));
        var history = new ChatHistory();
        history.AddUserMessage("What is in " + path + "?");

        ChatMessageContent answer = await kernel.GetRequiredService<IChatCompletionService>().GetChatMessageContentAsync(
            history, new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() }, kernel);

        Assert.Equal(2, planner.Calls.Count);
        Assert.Contains(planner.Calls[0].Tools ?? [], t => t.Name == "MagmaVision_describe_image");
        FunctionResultContent result = planner.ToolResults.Single();
        Assert.Equal(expected, result.Result?.ToString());
        Assert.Equal("planner saw: " + expected, answer.Content);
    }

    [Fact]
    public async Task Ground_returns_json_and_the_marked_screenshot_as_image_content_through_the_kernel()
    {
        RgbImage screen = TinyKernelFixture.Picture(22, 200, 100);
        string path = fx.SaveToFile(screen, "ground.png");
        // Random weights never answer in Magma's format, so the tool's decode is forced to a well-formed answer
        // (the same tokens a trained Magma would produce); the model, prompt, parser and renderer are real.
        var plugin = new MagmaVisionPlugin(fx.Model) { GroundingOptions = Forced("Coordinate: (0.25, 0.5). Mark: 3") };
        var planner = new ScriptedPlanner("MagmaVision_ground", new Dictionary<string, object?> { ["image"] = path, ["instruction"] = "Sign in" });
        Kernel kernel = PlannerKernel(planner, plugin);
        var history = new ChatHistory();
        history.AddUserMessage("Sign in on the screen " + path);

        await kernel.GetRequiredService<IChatCompletionService>().GetChatMessageContentAsync(
            history, new PromptExecutionSettings { FunctionChoiceBehavior = FunctionChoiceBehavior.Auto() }, kernel);

        var contents = Assert.IsAssignableFrom<IEnumerable<AIContent>>(planner.ToolResults.Single().Result).ToList();
        using JsonDocument json = JsonDocument.Parse(Assert.IsType<TextContent>(contents[0]).Text);
        Assert.Equal(50, json.RootElement.GetProperty("x").GetDouble(), 3);
        Assert.Equal(50, json.RootElement.GetProperty("y").GetDouble(), 3);
        Assert.Equal(3, json.RootElement.GetProperty("mark").GetInt32());
        DataContent png = Assert.IsType<DataContent>(contents[1]);
        Assert.Equal("image/png", png.MediaType);
        RgbImage marked = RgbImage.Decode(png.Data.Span);
        Assert.Equal((200, 100), (marked.Width, marked.Height));
        Assert.NotEqual(screen.Pixels.ToArray(), marked.Pixels.ToArray());
    }

    [Fact]
    public async Task AIFunctionFactory_functions_work_with_plain_UseFunctionInvocation_and_keep_images()
    {
        RgbImage image = TinyKernelFixture.Picture(23);
        string path = fx.SaveToFile(image, "answer.png");
        var plugin = new MagmaVisionPlugin(fx.Model) { GroundingOptions = Forced("Coordinate: (0.5, 0.5)") };
        string expected = (await fx.Model.GenerateAsync(MagmaRequest.Ask(image, "How many cats?", new GenerationOptions { MaxNewTokens = 256 }))).Text;

        var answering = new ScriptedPlanner("answer_about_image", new Dictionary<string, object?> { ["image"] = path, ["question"] = "How many cats?" });
        using IChatClient client1 = answering.AsBuilder().UseFunctionInvocation().Build();
        await client1.GetResponseAsync("How many cats?", new ChatOptions { Tools = [.. plugin.AsAIFunctions()] });

        var grounding = new ScriptedPlanner("ground", new Dictionary<string, object?> { ["image"] = path, ["instruction"] = "OK" });
        using IChatClient client2 = grounding.AsBuilder().UseFunctionInvocation().Build();
        await client2.GetResponseAsync("Press OK", new ChatOptions { Tools = [.. plugin.AsAIFunctions()] });

        Assert.Equal(expected, answering.ToolResults.Single().Result?.ToString());
        var contents = Assert.IsAssignableFrom<IEnumerable<AIContent>>(grounding.ToolResults.Single().Result).ToList();
        Assert.Contains(contents, c => c is DataContent { MediaType: "image/png" });
    }

    [Fact]
    public async Task Plan_trace_returns_pixel_traces_and_the_drawn_image_through_AIFunctionFactory()
    {
        RgbImage frame = TinyKernelFixture.Picture(24, 256, 128);
        string path = fx.SaveToFile(frame, "trace.png");
        // Forced Trace-of-Mark answer (spec §7.3 format), as for ground above: the model path, parser and renderer are real.
        var plugin = new MagmaVisionPlugin(fx.Model)
        {
            PlanningOptions = Forced(
                "Mark 1 at [64,64] should be moved, and their future positions are:\n\n\"Mark 1\": \"[[128,64],[192,96]]\"\n\n"),
        };
        var planner = new ScriptedPlanner("plan_trace", new Dictionary<string, object?>
        {
            ["image"] = path, ["markIds"] = new[] { 1 }, ["task"] = "push the block right", ["steps"] = 2,
        });
        using IChatClient client = planner.AsBuilder().UseFunctionInvocation().Build();

        await client.GetResponseAsync("Plan it", new ChatOptions { Tools = [.. plugin.AsAIFunctions()] });

        var contents = Assert.IsAssignableFrom<IEnumerable<AIContent>>(planner.ToolResults.Single().Result).ToList();
        string json = Assert.IsType<TextContent>(contents[0]).Text;
        // Grid 256 -> pixels: x * 256 / 256, y * 128 / 256.
        Assert.Contains("[128,32]", json.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("[192,48]", json.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        DataContent png = Assert.IsType<DataContent>(contents[1]);
        RgbImage drawn = RgbImage.Decode(png.Data.Span);
        Assert.NotEqual(frame.Pixels.ToArray(), drawn.Pixels.ToArray());
    }

    [Fact]
    public async Task Plan_trace_reports_an_unparseable_answer_as_json_with_the_raw_text()
    {
        RgbImage frame = TinyKernelFixture.Picture(25, 64, 64);
        var plugin = new MagmaVisionPlugin(fx.Model) { PlanningOptions = new GenerationOptions { MaxNewTokens = 8 } };

        IList<AIContent> result = await plugin.PlanTraceAsync("data:image/png;base64," + Convert.ToBase64String(frame.EncodePng()), [1, 2], "wave");

        using JsonDocument json = JsonDocument.Parse(Assert.IsType<TextContent>(Assert.Single(result)).Text);
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("error").GetString()));
        Assert.NotNull(json.RootElement.GetProperty("raw_answer").GetString());
    }

    [Fact]
    public async Task A_missing_image_file_is_reported_to_the_planner_as_a_tool_error()
    {
        var planner = new ScriptedPlanner("describe_image", new Dictionary<string, object?> { ["image"] = "/nonexistent/screen.png" });
        using IChatClient client = planner.AsBuilder().UseFunctionInvocation(configure: c => c.IncludeDetailedErrors = true).Build();

        await client.GetResponseAsync("Describe it", new ChatOptions { Tools = [.. new MagmaVisionPlugin(fx.Model).AsAIFunctions()] });

        FunctionResultContent result = planner.ToolResults.Single();
        Assert.IsType<MagmaInputException>(result.Exception);
        Assert.Contains("/nonexistent/screen.png", result.Result?.ToString(), StringComparison.Ordinal);
    }

    private static Kernel PlannerKernel(ScriptedPlanner planner, MagmaVisionPlugin plugin)
    {
        IKernelBuilder builder = Kernel.CreateBuilder();
        builder.Services.AddSingleton(planner.AsBuilder().UseKernelFunctionInvocation().Build().AsChatCompletionService());
        builder.Plugins.AddFromObject(plugin, MagmaVisionPlugin.DefaultPluginName);
        return builder.Build();
    }

    private GenerationOptions Forced(string answer)
    {
        int[] ids = [.. fx.Model.Tokenizer.Encode(answer, addBeginOfText: false), fx.Model.Package.Manifest.Tokens.Eos[0]];
        return new GenerationOptions { MaxNewTokens = ids.Length, LogitsProcessors = [new ForceTokens(ids)] };
    }

    /// <summary>Forces a fixed token sequence (stands in for trained weights; see the test above).</summary>
    private sealed class ForceTokens(int[] ids) : ILogitsProcessor
    {
        public void Process(ReadOnlySpan<int> generated, Span<float> logits)
        {
            logits.Fill(float.NegativeInfinity);
            logits[ids[Math.Min(generated.Length, ids.Length - 1)]] = 0f;
        }
    }

    /// <summary>A planner that requests one tool call, then answers with what the tool returned.</summary>
    private sealed class ScriptedPlanner(string tool, Dictionary<string, object?> arguments) : IChatClient
    {
        public List<ChatOptions> Calls { get; } = [];

        public List<FunctionResultContent> ToolResults { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls.Add(options?.Clone() ?? new ChatOptions());
            List<FunctionResultContent> results = [.. messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>()];
            if (results.Count == 0)
            {
                return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("call-1", tool, arguments)])));
            }

            ToolResults.AddRange(results);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "planner saw: " + results[0].Result)));
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            ChatResponse response = await GetResponseAsync(messages, options, cancellationToken);
            foreach (ChatResponseUpdate update in response.ToChatResponseUpdates())
            {
                yield return update;
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
