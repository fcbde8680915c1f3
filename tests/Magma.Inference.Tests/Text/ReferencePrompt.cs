using Magma.Inference.Text;

namespace Magma.Inference.Tests.Text;

/// <summary>
/// Turns a prompt string of the reference's goldens, where <c>&lt;image&gt;</c> (optionally wrapped in
/// <c>&lt;image_start&gt;</c>/<c>&lt;image_end&gt;</c>) marks an image, into <see cref="ChatContent"/>. Test code only: the
/// goldens are trusted; the library never reads placeholders out of text.
/// </summary>
internal static class ReferencePrompt
{
    private const string Wrapped = "<image_start><image><image_end>";
    private const string Bare = "<image>";

    public static ChatContent Content(string text)
    {
        var parts = new List<ChatContent>();
        int at = 0;
        while (at < text.Length)
        {
            int wrapped = text.IndexOf(Wrapped, at, StringComparison.Ordinal);
            int bare = text.IndexOf(Bare, at, StringComparison.Ordinal);
            // A bare match inside a wrapped one belongs to the wrapped placeholder.
            bool useWrapped = wrapped >= 0 && (bare < 0 || wrapped < bare);
            int next = useWrapped ? wrapped : bare;
            if (next < 0)
            {
                break;
            }

            parts.Add(text[at..next]);
            parts.Add(ChatContent.Image(useWrapped));
            at = next + (useWrapped ? Wrapped.Length : Bare.Length);
        }

        parts.Add(text[at..]);
        return ChatContent.Join("", parts);
    }

    public static IReadOnlyList<ChatTurn> Turns(IEnumerable<(ChatRole Role, string Content)> messages) =>
        [.. messages.Select(m => new ChatTurn(m.Role, Content(m.Content)))];
}
