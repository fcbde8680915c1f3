using System.Text;
using System.Text.Json;

namespace Magma.Inference.Text;

/// <summary>Author of a chat turn.</summary>
public enum ChatRole
{
    /// <summary>The system prompt (rendered as role "system").</summary>
    System,

    /// <summary>The user (rendered as role "user").</summary>
    User,

    /// <summary>The model (rendered as role "assistant").</summary>
    Assistant,
}

/// <summary>One message of a conversation.</summary>
/// <param name="Role">Who wrote it.</param>
/// <param name="Content">The text; image placeholders such as <c>&lt;image&gt;</c> are written inline.</param>
public readonly record struct ChatTurn(ChatRole Role, string Content);

/// <summary>
/// Renders conversations as the standard LLaMA-3-Instruct Jinja chat template does (HF
/// <c>apply_chat_template(..., tokenize=False)</c>): BOS before the first turn, a header per turn, content trimmed as
/// Python's <c>str.strip()</c>, <c>&lt;|eot_id|&gt;</c> after each turn. Tokenizing the result with BOS added gives the
/// double BOS (128000, 128000, 128006, ...) that Magma was trained and evaluated with; keep it.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The LLaMA-3-Instruct template text, as stored in tokenizer_config.json's <c>chat_template</c>.</summary>
    public const string Llama3TemplateText =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    private readonly string _bosToken;

    private ChatTemplate(string bosToken) => _bosToken = bosToken;

    /// <summary>The LLaMA-3-Instruct template with <c>&lt;|begin_of_text|&gt;</c> as BOS.</summary>
    public static ChatTemplate Llama3 { get; } = new("<|begin_of_text|>");

    /// <summary>
    /// Reads <c>chat_template</c> and <c>bos_token</c> from a tokenizer_config.json; only the LLaMA-3 template is
    /// supported (Magma-8B's).
    /// </summary>
    /// <exception cref="MagmaPackageException">The file is missing or malformed, or its template is not LLaMA-3's.</exception>
    public static ChatTemplate FromTokenizerConfig(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var doc = TokenizerFiles.Open(path);
        var root = doc.RootElement;
        string? template = null;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("chat_template", out var value))
        {
            if (value.ValueKind == JsonValueKind.String)
            {
                template = value.GetString();
            }
            else if (value.ValueKind == JsonValueKind.Array)
            {
                // Newer transformers write a list of named templates; the one named "default" is used for chat.
                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object
                        && item.TryGetProperty("name", out var name) && name.GetString() == "default"
                        && item.TryGetProperty("template", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        template = t.GetString();
                    }
                }
            }
        }

        if (template is null)
        {
            throw TokenizerFiles.Field(path, "chat_template", "is missing; Magma-8B's tokenizer_config.json carries the LLaMA-3 chat template");
        }

        if (!string.Equals(template.Trim(), Llama3TemplateText, StringComparison.Ordinal))
        {
            throw TokenizerFiles.Field(path, "chat_template", "is not the standard LLaMA-3-Instruct template; only the LLaMA-3 template is supported");
        }

        return new ChatTemplate(TokenizerFiles.RequireTokenString(root, "bos_token", path));
    }

    /// <summary>Renders the conversation; with <paramref name="addGenerationPrompt"/> it ends with an open assistant header.</summary>
    public string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var sb = new StringBuilder(256);
        for (int i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (turn.Content is null)
            {
                throw new MagmaInputException($"Chat turn {i} ({turn.Role}) has null Content; pass the message text (it may be empty).");
            }

            if (i == 0)
            {
                sb.Append(_bosToken);
            }

            sb.Append("<|start_header_id|>").Append(RoleName(turn.Role)).Append("<|end_header_id|>\n\n")
              .Append(PythonStrip(turn.Content)).Append("<|eot_id|>");
        }

        if (addGenerationPrompt)
        {
            sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
        }

        return sb.ToString();
    }

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        _ => throw new MagmaInputException($"Chat role {(int)role} is not System, User or Assistant."),
    };

    /// <summary>Python's <c>str.strip()</c> (Jinja's <c>trim</c>): .NET whitespace plus U+001C..U+001F.</summary>
    internal static ReadOnlySpan<char> PythonStrip(ReadOnlySpan<char> s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsPythonSpace(s[start]))
        {
            start++;
        }

        while (end > start && IsPythonSpace(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    internal static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';
}
