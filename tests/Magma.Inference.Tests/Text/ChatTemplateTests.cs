using System.Text.Json;
using Magma.Inference.Text;
using Xunit;

namespace Magma.Inference.Tests.Text;

public sealed class ChatTemplateTests
{
    private const string SpecRendering =
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are agent that can see, talk and act.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\n<image_start><image><image_end>\nWhat is the letter on the robot?<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n";

    [Fact]
    public void Render_system_and_user_with_generation_prompt_equals_spec_string_after_trimming()
    {
        var turns = new[]
        {
            new ChatTurn(ChatRole.System, "  " + MagmaPrompts.SystemPrompt + "\n"),
            new ChatTurn(ChatRole.User, "\t" + MagmaPrompts.VisualQuestion("What is the letter on the robot?", useImageStartEnd: true) + "  \n\n"),
        };
        Assert.Equal(SpecRendering, ChatTemplate.Llama3.Render(turns));
    }

    [Fact]
    public void Tokenized_rendering_has_the_double_bos_of_the_reference()
    {
        var tok = TokenizerFixture.Tokenizer;
        var ids = ChatTemplate.Llama3.Encode(MagmaPrompts.Conversation(MagmaPrompts.VisualQuestion("What is the letter on the robot?", true)), tok);
        Assert.Equal([128000, 128000, 128006, 9125, 128007, 271], ids.Take(6));
        Assert.Equal([128006, 78191, 128007, 271], ids.TakeLast(4)); // open assistant header, "\n\n" = 271
        Assert.Equal(1, ids.Count(id => id == tok.ImageTokenId));
    }

    [Fact]
    public void Render_matches_jinja2_goldens()
    {
        // chat-goldens.json: tools/tokenizer/make-chat-goldens.py renders the config's template with jinja2.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixture.Directory, "chat-goldens.json")));
        var template = ChatTemplate.FromTokenizerConfig(Path.Combine(TokenizerFixture.Directory, "tokenizer_config.json"));
        int count = 0;
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            var turns = c.GetProperty("messages").EnumerateArray()
                .Select(m => new ChatTurn(
                    m.GetProperty("role").GetString() switch { "system" => ChatRole.System, "user" => ChatRole.User, _ => ChatRole.Assistant },
                    m.GetProperty("content").GetString()!))
                .ToList();
            Assert.Equal(c.GetProperty("rendered").GetString(), template.Render(turns, c.GetProperty("add_generation_prompt").GetBoolean()));
            count++;
        }

        Assert.Equal(12, count);
    }

    [Fact]
    public void Trim_uses_python_whitespace()
    {
        // \x1c..\x1f are whitespace for Python's str.strip() but not for .NET's char.IsWhiteSpace; U+200B/U+FEFF are neither.
        string rendered = ChatTemplate.Llama3.Render([new ChatTurn(ChatRole.User, "\u001c\u001d a \u001e\u001f\u3000\u0085")], addGenerationPrompt: false);
        Assert.Equal("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\na<|eot_id|>", rendered);
        string kept = ChatTemplate.Llama3.Render([new ChatTurn(ChatRole.User, "\u200bb\ufeff")], addGenerationPrompt: false);
        Assert.Contains("\u200bb\ufeff<|eot_id|>", kept, StringComparison.Ordinal);
    }

    [Fact]
    public void FromTokenizerConfig_rejects_an_unknown_template_naming_file_and_field()
    {
        string dir = TempDir.Create();
        string path = Path.Combine(dir, "tokenizer_config.json");
        File.WriteAllText(path, """{"bos_token": "<s>", "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"}""");
        var ex = Assert.Throws<MagmaPackageException>(() => ChatTemplate.FromTokenizerConfig(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("chat_template", ex.Message, StringComparison.Ordinal);
        Assert.Contains("LLaMA-3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prompt_builders_produce_the_canonical_user_contents()
    {
        Assert.Equal("<image>\nWhat action should the robot take to put the bowl on the plate?",
            MagmaPrompts.RobotAction("put the bowl on the plate", useImageStartEnd: false).ToString());
        Assert.Equal("<image_start><image><image_end>\nWhat action should the robot take to open the drawer?",
            MagmaPrompts.RobotAction("open the drawer", useImageStartEnd: true).ToString());
        Assert.Equal("<image>\nIn this view I need to click a button to \"Search\"? Provide the coordinates and the mark index of the containing bounding box if applicable.",
            MagmaPrompts.UiClick("Search", useImageStartEnd: false).ToString());
        Assert.Equal("<image>\nWhat is shown? Answer the question briefly.", MagmaPrompts.UiQuestion("What is shown?", useImageStartEnd: false).ToString());
        Assert.Equal(
            "<image>\nThe image is split into 256x256 grids and is labeled with numeric marks [1, 2, 3].\nThe robot is doing: pick up the cup. To finish the task, how to move the numerical marks in the image with speed 8 for the next 16 steps?\n",
            MagmaPrompts.TraceOfMarkPlanning([1, 2, 3], "pick up the cup", 8, 16, useImageStartEnd: false).ToString());
        Assert.Equal("You are agent that can see, talk and act.", MagmaPrompts.SystemPrompt);
    }
}
