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

    /// <summary>Accessible name: aria-label, label text, placeholder, or inner text (80 characters at most).</summary>
    public required string Name { get; init; }

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

    /// <summary>Compact one-line description for prompts and logs, e.g. <c>[3] button "Send"</c>.</summary>
    public string Describe()
    {
        var s = new System.Text.StringBuilder();
        s.Append('[').Append(Id.ToString(CultureInfo.InvariantCulture)).Append("] ").Append(Role);
        if (Name.Length > 0)
        {
            s.Append(" \"").Append(Name).Append('"');
        }

        if (Value is { Length: > 0 })
        {
            s.Append(" value=\"").Append(Value).Append('"');
        }

        if (Checked is bool c)
        {
            s.Append(c ? " checked" : " unchecked");
        }

        if (FramePath.Length > 0)
        {
            s.Append(" in ").Append(FramePath);
        }

        return s.ToString();
    }
}
