using System.Buffers;
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
/// <param name="Content">
/// Plain text and image placeholders (<see cref="ChatContent"/>; a string converts to plain text, in which
/// special-token strings such as <c>&lt;image&gt;</c> or <c>&lt;|eot_id|&gt;</c> stay characters).
/// </param>
public readonly record struct ChatTurn(ChatRole Role, ChatContent Content);

/// <summary>
/// The standard LLaMA-3-Instruct Jinja chat template (HF <c>apply_chat_template</c>): BOS before the first turn, a
/// header per turn, content trimmed as Python's <c>str.strip()</c>, <c>&lt;|eot_id|&gt;</c> after each turn.
/// <see cref="Encode"/> turns a conversation into prompt ids: the template's tokens and the image placeholders are the
/// only special ids it writes; every text (system, user, assistant) is tokenized as plain text. <see cref="Render"/>
/// writes the same prompt as a string, for display and for comparing with HF's rendering.
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

    /// <summary>
    /// The prompt ids of a conversation, as Magma tokenizes its rendered prompt: the tokenizer's BOS, then the
    /// template's (the double BOS 128000, 128000, 128006, ... that Magma was trained and evaluated with; keep it). Equal
    /// to HF <c>tokenizer(apply_chat_template(turns, tokenize=False))</c> for any text without special-token strings;
    /// in text, those are encoded as characters (<c>split_special_tokens=True</c>), so only the template and
    /// <see cref="ChatContent.Image"/> produce special ids.
    /// </summary>
    /// <param name="turns">The conversation.</param>
    /// <param name="tokenizer">The package's tokenizer.</param>
    /// <param name="addGenerationPrompt">End with an open assistant header.</param>
    /// <exception cref="MagmaInputException">A turn has null content or an unknown role.</exception>
    public int[] Encode(IReadOnlyList<ChatTurn> turns, MagmaTokenizer tokenizer, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(turns);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var ids = new List<int>(64 + (turns.Count * 32));
        var text = new PendingText(tokenizer, ids);
        try
        {
            ids.Add(tokenizer.BeginOfTextId);
            int startHeader = tokenizer.RequireAddedToken(StartHeader), endHeader = tokenizer.RequireAddedToken(EndHeader);
            int eot = tokenizer.RequireAddedToken(EndOfTurn);
            int image = tokenizer.ImageTokenId;
            int imageStart = -1, imageEnd = -1;
            for (int i = 0; i < turns.Count; i++)
            {
                ReadOnlySpan<ChatContent.Part> parts = Content(turns, i).Parts;
                if (i == 0)
                {
                    ids.Add(tokenizer.RequireAddedToken(_bosToken));
                }

                ids.Add(startHeader);
                text.Append(RoleName(turns[i].Role));
                text.Flush();
                ids.Add(endHeader);
                text.Append("\n\n");
                for (int p = 0; p < parts.Length; p++)
                {
                    if (parts[p].Text is { } t)
                    {
                        text.Append(StripAt(t, p, parts.Length));
                        continue;
                    }

                    text.Flush();
                    if (parts[p].StartEnd)
                    {
                        imageStart = imageStart >= 0 ? imageStart : tokenizer.RequireAddedToken(ChatContent.ImageStartText);
                        imageEnd = imageEnd >= 0 ? imageEnd : tokenizer.RequireAddedToken(ChatContent.ImageEndText);
                        ids.Add(imageStart);
                        ids.Add(image);
                        ids.Add(imageEnd);
                    }
                    else
                    {
                        ids.Add(image);
                    }
                }

                text.Flush();
                ids.Add(eot);
            }

            if (addGenerationPrompt)
            {
                ids.Add(startHeader);
                text.Append(RoleName(ChatRole.Assistant));
                text.Flush();
                ids.Add(endHeader);
                text.Append("\n\n");
                text.Flush();
            }
        }
        finally
        {
            text.Dispose();
        }

        return [.. ids];
    }

    /// <summary>
    /// Renders the conversation as HF <c>apply_chat_template(..., tokenize=False)</c> does, placeholders written as
    /// <c>&lt;image&gt;</c>; with <paramref name="addGenerationPrompt"/> it ends with an open assistant header. For display
    /// and comparison only: tokenizing this string with <see cref="MagmaTokenizer.EncodeParsingSpecialTokens"/> would
    /// read special-token strings in the texts as tokens; <see cref="Encode"/> does not.
    /// </summary>
    public string Render(IReadOnlyList<ChatTurn> turns, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var sb = new StringBuilder(256);
        for (int i = 0; i < turns.Count; i++)
        {
            ReadOnlySpan<ChatContent.Part> parts = Content(turns, i).Parts;
            if (i == 0)
            {
                sb.Append(_bosToken);
            }

            sb.Append(StartHeader).Append(RoleName(turns[i].Role)).Append(EndHeader).Append("\n\n");
            for (int p = 0; p < parts.Length; p++)
            {
                if (parts[p].Text is { } t)
                {
                    sb.Append(StripAt(t, p, parts.Length));
                }
                else
                {
                    parts[p].AppendTo(sb);
                }
            }

            sb.Append(EndOfTurn);
        }

        if (addGenerationPrompt)
        {
            sb.Append(StartHeader).Append("assistant").Append(EndHeader).Append("\n\n");
        }

        return sb.ToString();
    }

    private const string StartHeader = "<|start_header_id|>";
    private const string EndHeader = "<|end_header_id|>";
    private const string EndOfTurn = "<|eot_id|>";

    private static ChatContent Content(IReadOnlyList<ChatTurn> turns, int i) =>
        turns[i].Content ?? throw new MagmaInputException($"Chat turn {i} ({turns[i].Role}) has null Content; pass the message text (it may be empty).");

    /// <summary>
    /// Python's <c>strip()</c> of the whole content, applied to text part <paramref name="p"/>: parts are canonical
    /// (adjacent texts merged), so only the first part can carry leading and only the last trailing whitespace; an
    /// image placeholder is not whitespace.
    /// </summary>
    private static ReadOnlySpan<char> StripAt(string text, int p, int count)
    {
        ReadOnlySpan<char> s = text;
        if (p == 0)
        {
            int start = 0;
            while (start < s.Length && IsPythonSpace(s[start]))
            {
                start++;
            }

            s = s[start..];
        }

        if (p == count - 1)
        {
            int end = s.Length;
            while (end > 0 && IsPythonSpace(s[end - 1]))
            {
                end--;
            }

            s = s[..end];
        }

        return s;
    }

    /// <summary>Text between two special ids, gathered so that the BPE sees it in one piece, as HF's pre-tokenizer does.</summary>
    private struct PendingText(MagmaTokenizer tokenizer, List<int> ids) : IDisposable
    {
        private char[]? _buffer;
        private int _length;

        public void Append(ReadOnlySpan<char> text)
        {
            if (text.IsEmpty)
            {
                return;
            }

            if (_buffer is null || _buffer.Length - _length < text.Length)
            {
                char[] grown = ArrayPool<char>.Shared.Rent(Math.Max(256, (_length + text.Length) * 2));
                _buffer?.AsSpan(0, _length).CopyTo(grown);
                if (_buffer is not null)
                {
                    ArrayPool<char>.Shared.Return(_buffer);
                }

                _buffer = grown;
            }

            text.CopyTo(_buffer.AsSpan(_length));
            _length += text.Length;
        }

        public void Flush()
        {
            if (_length > 0)
            {
                tokenizer.Encode(_buffer.AsSpan(0, _length), ids, addBeginOfText: false);
                _length = 0;
            }
        }

        public void Dispose()
        {
            if (_buffer is not null)
            {
                ArrayPool<char>.Shared.Return(_buffer);
                _buffer = null;
            }
        }
    }

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        ChatRole.Assistant => "assistant",
        _ => throw new MagmaInputException($"Chat role {(int)role} is not System, User or Assistant."),
    };

    /// <summary>Whitespace to Python's <c>str.strip()</c> (Jinja's <c>trim</c>): .NET whitespace plus U+001C..U+001F.</summary>
    internal static bool IsPythonSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001C' and <= '\u001F';
}
