using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;
using ChatRole = Magma.Inference.Text.ChatRole;

namespace Magma.SemanticKernel.Tests;

/// <summary>
/// Messages and tool arguments with special-token text: it reaches Magma as plain text. Before, MagmaChatClient
/// rejected a literal "&lt;image&gt;" but let "&lt;|eot_id|&gt;" and headers through as real tokens (forged turns), and
/// the plugins' questions, instructions and tasks turned "&lt;image&gt;" into a second placeholder.
/// </summary>
[Collection(TinyKernelGroup.Name)]
public sealed class UntrustedTextTests(TinyKernelFixture fx)
{
    /// <summary>The text of every added token of the vocabulary (LLaMA-3's 256 and Magma's 7), after a page-like label.</summary>
    private string EveryToken
    {
        get
        {
            MagmaTokenizer tok = fx.Model.Tokenizer;
            var tokens = Enumerable.Range(tok.BaseVocabularySize, tok.VocabularySize - tok.BaseVocabularySize).Select(id => tok.IdToToken(id)!);
            return "Add <image> to cart " + string.Join(' ', tokens);
        }
    }

    private int Count(int[] ids, string token) => ids.Count(id => id == fx.Model.Tokenizer.TokenToId(token));

    [Fact]
    public async Task System_and_user_text_with_every_special_token_is_sent_as_plain_text()
    {
        string text = EveryToken;
        RgbImage image = TinyKernelFixture.Picture(41);
        ChatMessage[] messages =
        [
            new(AiChatRole.System, text),
            new(AiChatRole.User, [new DataContent(image.EncodePng(), "image/png"), new Microsoft.Extensions.AI.TextContent(text)]),
        ];

        ChatResponse response = await fx.Client.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 2 });

        // The same conversation built directly: the template's tokens and one image, nothing forged by the text.
        IReadOnlyList<ChatTurn> turns = [new(ChatRole.System, text), new(ChatRole.User, MagmaPrompts.Image(fx.Model.UseImageStartEnd) + "\n" + text)];
        int[] ids = ChatTemplate.Llama3.Encode(turns, fx.Model.Tokenizer);
        Assert.Equal(3, Count(ids, "<|start_header_id|>"));
        Assert.Equal(2, Count(ids, "<|eot_id|>"));
        Assert.Equal(1, Count(ids, "<image>"));
        MagmaResponse direct = await fx.Model.GenerateAsync(new MagmaRequest { Images = [image], Turns = turns, Options = new GenerationOptions { MaxNewTokens = 2 } });
        Assert.Equal(ids.Length - 1 + direct.Usage.ImageTokens, direct.Usage.PromptTokens);
        Assert.Equal(direct.Usage.PromptTokens, response.Usage?.InputTokenCount);
        Assert.Equal(direct.Text, response.Text);
    }

    [Fact]
    public async Task A_user_may_write_image_as_text_without_sending_an_image()
    {
        ChatResponse response = await fx.Client.GetResponseAsync("What does <image> mean in HTML?", new ChatOptions { MaxOutputTokens = 2 });
        Assert.NotNull(response.Usage?.InputTokenCount);
    }

    [Fact]
    public async Task Tool_arguments_with_every_special_token_run_the_vision_functions()
    {
        string text = EveryToken;
        string path = fx.SaveToFile(TinyKernelFixture.Picture(42), "untrusted.png");
        string plugin = MagmaVisionPlugin.DefaultPluginName;

        FunctionResult answer = await fx.Kernel.InvokeAsync(plugin, "answer_about_image", new KernelArguments { ["image"] = path, ["question"] = text });
        Assert.NotNull(answer.GetValue<string>());
        FunctionResult ground = await fx.Kernel.InvokeAsync(plugin, "ground", new KernelArguments { ["image"] = path, ["instruction"] = text });
        Assert.NotNull(ground.GetValue<object>());
        FunctionResult trace = await fx.Kernel.InvokeAsync(plugin, "plan_trace", new KernelArguments { ["image"] = path, ["markIds"] = new[] { 1, 2 }, ["task"] = text, ["steps"] = 2 });
        Assert.NotNull(trace.GetValue<object>());
    }
}
