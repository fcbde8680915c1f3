namespace Magma.Tasks.Decoding;

/// <summary>Swipe directions of the AITW action space.</summary>
public enum SwipeDirection
{
    /// <summary>Swipe up.</summary>
    Up,

    /// <summary>Swipe down.</summary>
    Down,

    /// <summary>Swipe left.</summary>
    Left,

    /// <summary>Swipe right.</summary>
    Right,
}

/// <summary>System keys of the AITW action space.</summary>
public enum NavigationKey
{
    /// <summary>The back button.</summary>
    Back,

    /// <summary>The home button.</summary>
    Home,

    /// <summary>The enter key.</summary>
    Enter,
}

/// <summary>Task status values of the AITW action space.</summary>
public enum TaskCompletion
{
    /// <summary>The task is done.</summary>
    Complete,

    /// <summary>The task cannot be done.</summary>
    Impossible,
}

/// <summary>
/// One step of a mobile (AITW) agent, parsed from the JSON answer format of the paper's template (spec §7.2).
/// The hierarchy is closed: the derived records below are the only kinds.
/// </summary>
public abstract record MobileAction
{
    private protected MobileAction()
    {
    }
}

/// <summary><c>{"TAP": {"MARK": n}}</c>: tap the element with this mark.</summary>
/// <param name="Mark">The mark id (non-negative).</param>
public sealed record MobileTapMark(int Mark) : MobileAction;

/// <summary>
/// <c>{"TAP": {"NORMALIZED_COORDINATE": [y, x]}}</c> (or the <c>"Coordinate"</c> key): tap this point.
/// The answer lists y first; <see cref="Point"/> is stored as (x, y).
/// </summary>
/// <param name="Point">The tap point, normalised to [0, 1].</param>
public sealed record MobileTapPoint(NormalizedPoint Point) : MobileAction;

/// <summary><c>{"SWIPE": "UP"}</c> and the other directions.</summary>
/// <param name="Direction">The swipe direction.</param>
public sealed record MobileSwipe(SwipeDirection Direction) : MobileAction;

/// <summary><c>{"NAVIGATE": "BACK" | "HOME" | "ENTER"}</c>.</summary>
/// <param name="Key">The system key to press.</param>
public sealed record MobileNavigate(NavigationKey Key) : MobileAction;

/// <summary><c>{"TYPE": "text"}</c>: type this text.</summary>
/// <param name="Text">The text to type.</param>
public sealed record MobileType(string Text) : MobileAction;

/// <summary><c>{"SET_TASK_STATUS": "COMPLETE" | "IMPOSSIBLE"}</c>.</summary>
/// <param name="Status">The reported status.</param>
public sealed record MobileSetTaskStatus(TaskCompletion Status) : MobileAction;

/// <summary>Element operations of the Mind2Web action space.</summary>
public enum WebOperation
{
    /// <summary>Click the element.</summary>
    Click,

    /// <summary>Type <see cref="WebAction.Value"/> into the element.</summary>
    Type,

    /// <summary>Select the option <see cref="WebAction.Value"/> in the element.</summary>
    Select,
}

/// <summary>A Mind2Web step, <c>{"ACTION": "CLICK", "MARK": 3, "VALUE": "…"}</c>.</summary>
/// <param name="Operation">What to do.</param>
/// <param name="Mark">The mark id of the element (non-negative).</param>
/// <param name="Value">The text to type or option to select; null when absent.</param>
public sealed record WebAction(WebOperation Operation, int Mark, string? Value);
