using System.Globalization;
using Magma.Tasks.Marks;

namespace Magma.Plugins.Web.Observation;

/// <summary>One marked element of an observation.</summary>
public sealed record WebMark
{
    /// <summary>The mark number drawn on the screenshot (0-based, as Magma's UI demo).</summary>
    public required int Id { get; init; }

    /// <summary>ARIA role, explicit or implied (link, button, textbox, checkbox, combobox, …; "generic" for click handlers).</summary>
    public required string Role { get; init; }

    /// <summary>
    /// Accessible name as browsers compute it (aria-labelledby, aria-label, label, alt or button value, content, title,
    /// placeholder; 80 characters at most); when none applies, a guess from nearby text (see <see cref="NameFrom"/>).
    /// </summary>
    public required string Name { get; init; }

    /// <summary>
    /// Where <see cref="Name"/> came from: <c>labelledby</c>, <c>aria-label</c>, <c>label</c>, <c>value</c>, <c>alt</c>,
    /// <c>content</c>, <c>title</c>, <c>placeholder</c>; <c>nearby</c> (the nearest text before it, after it for checkboxes
    /// and radios) and <c>attribute</c> (its name attribute) are guesses; empty when it has no name.
    /// </summary>
    public string NameFrom { get; init; } = "";

    /// <summary>True when <see cref="Name"/> is a guess rather than a name the page gave it.</summary>
    public bool NameGuessed => NameFrom is "nearby" or "attribute";

    /// <summary>
    /// Compact state words: disabled, expanded/collapsed (branches), leaf (tree items without children), mixed, pressed,
    /// selected, current, has popup, multiline (textarea), multiselectable, readonly, required, min=/max=/step=.
    /// </summary>
    public IReadOnlyList<string> States { get; init; } = [];

    /// <summary>The options of a <c>&lt;select&gt;</c> (40 at most), with whether each is selected; null for other elements.</summary>
    public IReadOnlyList<WebOption>? Options { get; init; }

    /// <summary>Lower-case tag name.</summary>
    public required string Tag { get; init; }

    /// <summary>Input/button type, or empty.</summary>
    public string Type { get; init; } = "";

    /// <summary>Current value of a field (masked for passwords and secrets), or null for non-fields.</summary>
    public string? Value { get; init; }

    /// <summary>True when the value shown is masked.</summary>
    public bool Masked { get; init; }

    /// <summary>Checked state of checkboxes, radios and aria-checked elements; null otherwise.</summary>
    public bool? Checked { get; init; }

    /// <summary>Link target, or empty.</summary>
    public string Href { get; init; } = "";

    /// <summary>Visible box in top-frame CSS pixels (clipped to the viewport, frames and scroll containers).</summary>
    public required MarkBox CssBox { get; init; }

    /// <summary>The same box in screenshot pixels (CSS × device scale factor).</summary>
    public required MarkBox PixelBox { get; init; }

    /// <summary>The iframe chain the element lives in (e.g. <c>#pay</c>), empty for the top document.</summary>
    public string FramePath { get; init; } = "";

    /// <summary>True when the element is inside an (open) shadow root.</summary>
    public bool InShadowRoot { get; init; }

    /// <summary>A form's submit control.</summary>
    public bool IsSubmit { get; init; }

    /// <summary>Inside a form that has a password field.</summary>
    public bool InPasswordForm { get; init; }

    /// <summary>A file-upload input.</summary>
    public bool IsFileInput { get; init; }

    /// <summary>
    /// For a mark whose role and name another mark of the same observation shares (an "Edit" button on every table row,
    /// "Add to basket" on every product card): the text that tells it apart, taken in the page from its lowest ancestor
    /// (6 levels at most) that holds visible text outside the mark and no other mark with that role and name; that
    /// ancestor's first visible text run outside every mark and unlike the mark's own name (the row's first cell, the
    /// card's title), whitespace collapsed, 40 characters at most, redacted like the name. Null when the role and name
    /// are unique, or no such ancestor exists.
    /// </summary>
    public string? Context { get; init; }

    /// <summary>
    /// Compact one-line description for prompts and logs: the id, the role and then fields separated by <c> | </c>, e.g.
    /// <c>[4] textbox: Last name | value: Ada | required</c>, <c>[7] button: Add to basket | in: Amber lamp</c>,
    /// <c>[3] checkbox: Gift wrap | unchecked</c>, <c>[5] combobox: Delivery | options: Standard*, Express</c>,
    /// <c>[9] textbox (nearby text): Email</c> and <c>[8] generic (from attributes): trash</c> (guessed names),
    /// <c>[2] button</c> (no name),
    /// <c>[6] button: Pay | in frame #pay</c>.
    /// </summary>
    /// <remarks>
    /// Every free text (name, value, context, option, frame path) follows a space and is not quoted: LLaMA-3's
    /// pre-tokenizer then splits a name into the same word tokens as the instruction that names it (a quote before it
    /// would glue to its first word), which is what lets a small model copy it (docs/web-model.md). Texts come from the
    /// page, so <see cref="Text"/> keeps each on one line and turns <c>|</c> into <c>/</c>: a page cannot forge a mark
    /// line or a field.
    /// </remarks>
    public string Describe()
    {
        var s = new System.Text.StringBuilder();
        s.Append('[').Append(Id.ToString(CultureInfo.InvariantCulture)).Append("] ").Append(Role);
        string name = Text(Name);
        if (name.Length > 0)
        {
            s.Append(NameGuessed ? (NameFrom == "nearby" ? " (nearby text): " : " (from attributes): ") : ": ").Append(name);
        }

        if (Context is { Length: > 0 } && Text(Context) is { Length: > 0 } context)
        {
            s.Append(" | in: ").Append(context);
        }

        if (Value is { Length: > 0 } && Text(Value) is { Length: > 0 } value)
        {
            s.Append(" | value: ").Append(value);
        }

        if (Checked is bool c)
        {
            s.Append(c ? " | checked" : " | unchecked");
        }

        foreach (string state in States)
        {
            s.Append(" | ").Append(Text(state));
        }

        if (Options is { Count: > 0 } options)
        {
            s.Append(" | options: ");
            for (int i = 0; i < options.Count; i++)
            {
                s.Append(i == 0 ? "" : ", ").Append(Text(options[i].Text)).Append(options[i].Selected ? "*" : "");
            }
        }

        if (FramePath.Length > 0)
        {
            s.Append(" | in frame ").Append(Text(FramePath));
        }

        return s.ToString();
    }

    /// <summary>
    /// A page's text made safe for one field of a mark line: control characters and line breaks (every Unicode line or
    /// paragraph separator) become spaces, runs of whitespace one space, and <c>|</c> (the field separator) <c>/</c>.
    /// </summary>
    internal static string Text(string text)
    {
        var s = new System.Text.StringBuilder(text.Length);
        bool space = false;
        foreach (char ch in text)
        {
            if (char.IsControl(ch) || char.IsWhiteSpace(ch) || char.GetUnicodeCategory(ch) is UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                space = s.Length > 0;
                continue;
            }

            if (space)
            {
                s.Append(' ');
                space = false;
            }

            s.Append(ch == '|' ? '/' : ch);
        }

        return s.ToString();
    }
}

/// <summary>One option of a <c>&lt;select&gt;</c> mark.</summary>
/// <param name="Text">Its label (40 characters at most).</param>
/// <param name="Selected">Whether it is selected now.</param>
public sealed record WebOption(string Text, bool Selected);
