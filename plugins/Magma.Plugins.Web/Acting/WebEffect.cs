using System.Text;

namespace Magma.Plugins.Web.Acting;

/// <summary>What an action did to the page, for the next prompt and the trace.</summary>
public sealed record WebEffect
{
    /// <summary>The action as performed, e.g. <c>click [3] button: Send</c>.</summary>
    public required string Action { get; init; }

    /// <summary>URL after the action.</summary>
    public required string Url { get; init; }

    /// <summary>The URL changed.</summary>
    public bool UrlChanged { get; init; }

    /// <summary>The title changed.</summary>
    public bool TitleChanged { get; init; }

    /// <summary>The target's value after the action (masked for secrets), when it has one.</summary>
    public string? Value { get; init; }

    /// <summary>The target's value changed.</summary>
    public bool ValueChanged { get; init; }

    /// <summary>The target's checked state after the action, when it has one.</summary>
    public bool? Checked { get; init; }

    /// <summary>The checked state changed.</summary>
    public bool CheckedChanged { get; init; }

    /// <summary>Focused element after the action (tag#id), empty for the body.</summary>
    public string Focus { get; init; } = "";

    /// <summary>Focus moved.</summary>
    public bool FocusChanged { get; init; }

    /// <summary>Pixels the scrolled content moved (negative: up), by a scroll action; 0 when it could not move.</summary>
    public int Scrolled { get; init; }

    /// <summary>What scrolled: <c>window</c> or the container's tag, e.g. <c>div</c>; empty when nothing was scrolled.</summary>
    public string ScrolledContainer { get; init; } = "";

    /// <summary>DOM mutations seen during the action and settle.</summary>
    public int Mutations { get; init; }

    /// <summary>A new page (tab/pop-up) opened and became the session's page.</summary>
    public string? NewPage { get; init; }

    /// <summary>JavaScript dialogs shown (and answered) during the action.</summary>
    public IReadOnlyList<string> Dialogs { get; init; } = [];

    /// <summary>Requests, navigations, connections or pop-ups refused by the allow-list during the action, with their channel
    /// and URL (each hop of a redirect chain on its own); nothing of them left the machine.</summary>
    public IReadOnlyList<string> Blocked { get; init; } = [];

    /// <summary>
    /// Requests (or the action itself) that needed the host's approval and did not get it; nothing of them was sent.
    /// </summary>
    public IReadOnlyList<string> Refused { get; init; } = [];

    /// <summary>Milliseconds spent acting and settling.</summary>
    public double ActMs { get; init; }

    /// <summary>Nothing observable changed.</summary>
    public bool NothingChanged =>
        !UrlChanged && !TitleChanged && !ValueChanged && !CheckedChanged && !FocusChanged && Mutations == 0 && Scrolled == 0
        && NewPage is null && Dialogs.Count == 0 && Blocked.Count == 0 && Refused.Count == 0;

    /// <summary>One-line summary for the model and logs.</summary>
    public override string ToString()
    {
        var s = new StringBuilder(Action).Append(": ");
        var parts = new List<string>();
        if (UrlChanged) { parts.Add($"navigated to {Url}"); }
        if (TitleChanged) { parts.Add("title changed"); }
        if (ValueChanged) { parts.Add($"value is now \"{Value}\""); }
        if (CheckedChanged) { parts.Add(Checked == true ? "now checked" : "now unchecked"); }
        if (FocusChanged) { parts.Add(Focus.Length > 0 ? $"focus on {Focus}" : "focus left"); }
        if (NewPage is not null) { parts.Add($"new page {NewPage}"); }
        foreach (string d in Dialogs) { parts.Add($"dialog \"{d}\""); }
        foreach (string b in Blocked) { parts.Add(b); }
        foreach (string r in Refused) { parts.Add(r); }
        if (Scrolled != 0) { parts.Add($"scrolled the {(ScrolledContainer.Length > 0 ? ScrolledContainer : "page")} {(Scrolled > 0 ? "down" : "up")} by {Math.Abs(Scrolled)} px (its content moved)"); }
        if (Mutations > 0) { parts.Add($"{Mutations} DOM changes"); }
        s.Append(parts.Count == 0 ? "nothing changed" : string.Join("; ", parts));
        return s.ToString();
    }
}
