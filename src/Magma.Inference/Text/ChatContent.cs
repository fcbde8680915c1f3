using System.Text;

namespace Magma.Inference.Text;

/// <summary>
/// The content of a chat turn: plain text interleaved with image placeholders. Text is always text: special-token
/// strings written in it (<c>&lt;image&gt;</c>, <c>&lt;|eot_id|&gt;</c>, ...) are tokenized as characters, never as
/// tokens, so a user, a web page or a tool argument cannot forge a turn or an image. Only <see cref="Image"/>, which
/// code calls once per image it attaches, produces the placeholder tokens. A <see cref="string"/> converts implicitly
/// to text content, and <c>+</c> concatenates: <c>MagmaPrompts.Image(true) + "\n" + question</c>.
/// </summary>
public sealed class ChatContent : IEquatable<ChatContent>
{
    internal const string ImageText = "<image>";
    internal const string ImageStartText = "<image_start>";
    internal const string ImageEndText = "<image_end>";

    private readonly Part[] _parts;

    private ChatContent(Part[] parts) => _parts = parts;

    /// <summary>No text and no image.</summary>
    public static ChatContent Empty { get; } = new([]);

    /// <summary>Number of image placeholders (each needs one image in the request, in order).</summary>
    public int ImageCount => _parts.Count(p => p.Text is null);

    internal ReadOnlySpan<Part> Parts => _parts;

    /// <summary>Plain text; special-token strings in it stay characters.</summary>
    public static ChatContent Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 0 ? Empty : new([new Part(text, false)]);
    }

    /// <summary>
    /// The placeholder of one image: <c>&lt;image&gt;</c>, or <c>&lt;image_start&gt;&lt;image&gt;&lt;image_end&gt;</c> when
    /// <paramref name="useImageStartEnd"/> (the checkpoint's <c>mm_use_image_start_end</c>, <see cref="MagmaModel.UseImageStartEnd"/>).
    /// </summary>
    public static ChatContent Image(bool useImageStartEnd) => useImageStartEnd ? ImageWithStartEnd : ImageOnly;

    private static readonly ChatContent ImageOnly = new([new Part(null, false)]);
    private static readonly ChatContent ImageWithStartEnd = new([new Part(null, true)]);

    /// <summary>Plain text content (see <see cref="Text"/>).</summary>
    public static implicit operator ChatContent(string text) => Text(text);

    /// <summary>The parts of <paramref name="left"/> followed by those of <paramref name="right"/>.</summary>
    public static ChatContent operator +(ChatContent left, ChatContent right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return left._parts.Length == 0 ? right : right._parts.Length == 0 ? left : Create([.. left._parts, .. right._parts]);
    }

    /// <summary>Named alternative to <c>+</c>.</summary>
    public static ChatContent Add(ChatContent left, ChatContent right) => left + right;

    /// <summary>The items in order with <paramref name="separator"/> (plain text) between them.</summary>
    public static ChatContent Join(string separator, IEnumerable<ChatContent> items)
    {
        ArgumentNullException.ThrowIfNull(separator);
        ArgumentNullException.ThrowIfNull(items);
        var parts = new List<Part>();
        bool first = true;
        foreach (ChatContent item in items)
        {
            ArgumentNullException.ThrowIfNull(item, nameof(items));
            if (!first && separator.Length > 0)
            {
                parts.Add(new Part(separator, false));
            }

            parts.AddRange(item._parts);
            first = false;
        }

        return Create(parts);
    }

    /// <summary>Canonical form: adjacent texts merged, empty texts dropped, so equal content has equal parts.</summary>
    private static ChatContent Create(List<Part> parts)
    {
        var merged = new List<Part>(parts.Count);
        foreach (Part p in parts)
        {
            if (p.Text is { Length: 0 })
            {
                continue;
            }

            if (p.Text is not null && merged.Count > 0 && merged[^1].Text is { } previous)
            {
                merged[^1] = new Part(previous + p.Text, false);
            }
            else
            {
                merged.Add(p);
            }
        }

        return merged.Count == 0 ? Empty : new([.. merged]);
    }

    /// <summary>
    /// The content as the reference's prompt string would show it, placeholders written as <c>&lt;image&gt;</c>. For
    /// display and logs only: converting this string back to content makes the placeholders plain text.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (Part p in _parts)
        {
            p.AppendTo(sb);
        }

        return sb.ToString();
    }

    /// <inheritdoc />
    public bool Equals(ChatContent? other) =>
        other is not null && _parts.AsSpan().SequenceEqual(other._parts);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ChatContent);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (Part p in _parts)
        {
            hash.Add(p);
        }

        return hash.ToHashCode();
    }

    /// <summary>Text (<see cref="Text"/> set) or one image placeholder (<see cref="Text"/> null).</summary>
    internal readonly record struct Part(string? Text, bool StartEnd)
    {
        public void AppendTo(StringBuilder sb)
        {
            if (Text is not null)
            {
                sb.Append(Text);
            }
            else if (StartEnd)
            {
                sb.Append(ImageStartText).Append(ImageText).Append(ImageEndText);
            }
            else
            {
                sb.Append(ImageText);
            }
        }
    }
}
