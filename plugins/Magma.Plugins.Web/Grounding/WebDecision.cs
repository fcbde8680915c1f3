using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Grounding;

/// <summary>What a policy decided to do next.</summary>
public enum WebDecisionKind
{
    /// <summary>Click a mark (or a point).</summary>
    Click,

    /// <summary>Type <see cref="WebDecision.Value"/> into a mark.</summary>
    Type,

    /// <summary>Select option <see cref="WebDecision.Value"/> in a mark.</summary>
    Select,

    /// <summary>Scroll the page (or the container of a mark) in direction <see cref="WebDecision.Value"/>.</summary>
    Scroll,

    /// <summary>Press key <see cref="WebDecision.Value"/>.</summary>
    Press,

    /// <summary>Go back.</summary>
    Back,

    /// <summary>Move the mouse over a mark (menus that open on hover).</summary>
    Hover,

    /// <summary>Double-click a mark.</summary>
    DoubleClick,

    /// <summary>Drag a mark onto <see cref="WebDecision.ToMark"/> or to <see cref="WebDecision.ToPoint"/>.</summary>
    Drag,

    /// <summary>Set a field's value to <see cref="WebDecision.Value"/> (dates, times, colours, sliders as ISO strings/numbers).</summary>
    SetValue,

    /// <summary>Add option <see cref="WebDecision.Value"/> to a multi-select mark.</summary>
    AddOption,

    /// <summary>Remove option <see cref="WebDecision.Value"/> from a multi-select mark.</summary>
    RemoveOption,

    /// <summary>Wait <see cref="WebDecision.Value"/> milliseconds.</summary>
    Wait,

    /// <summary>The task is done.</summary>
    Done,

    /// <summary>The answer could not be turned into an action (see <see cref="WebDecision.Note"/>).</summary>
    Invalid,
}

/// <summary>A policy's next step, with what the model was asked and answered (for the trace).</summary>
public sealed record WebDecision
{
    /// <summary>What to do.</summary>
    public required WebDecisionKind Kind { get; init; }

    /// <summary>Target mark, if any.</summary>
    public int? Mark { get; init; }

    /// <summary>Target point in screenshot pixels, when the answer was a point outside every mark.</summary>
    public (double X, double Y)? Point { get; init; }

    /// <summary>Drop target mark of a drag.</summary>
    public int? ToMark { get; init; }

    /// <summary>Drop point of a drag in screenshot pixels, when it names a point rather than a mark.</summary>
    public (double X, double Y)? ToPoint { get; init; }

    /// <summary>Text to type, value to set, option to select/add/remove, key, scroll direction, or milliseconds to wait.</summary>
    public string? Value { get; init; }

    /// <summary>The prompt sent to the model (empty for scripted policies).</summary>
    public string Prompt { get; init; } = "";

    /// <summary>The model's raw answer (empty for scripted policies).</summary>
    public string RawAnswer { get; init; } = "";

    /// <summary>Milliseconds spent in the model.</summary>
    public double ModelMs { get; init; }

    /// <summary>Why the answer was invalid, or how it was read.</summary>
    public string Note { get; init; } = "";

    /// <summary>Short form for history lines and logs, e.g. <c>CLICK [3]</c>.</summary>
    public override string ToString() =>
        Kind.ToString().ToUpperInvariant()
        + (Mark is int m ? $" [{m}]" : Point is { } p ? $" ({p.X:0},{p.Y:0})px" : "")
        + (ToMark is int t ? $" -> [{t}]" : ToPoint is { } q ? $" -> ({q.X:0},{q.Y:0})px" : "")
        + (Value is null ? "" : $" \"{Value}\"");
}

/// <summary>Chooses the next action from an observation: Magma, or a scripted/random policy in the harness.</summary>
public interface IWebPolicy
{
    /// <summary>Decides the next step.</summary>
    /// <param name="observation">The current observation.</param>
    /// <param name="goal">The task.</param>
    /// <param name="history">Earlier steps as <c>[role] name -> ACTION</c> lines with their effects.</param>
    /// <param name="cancellationToken">Cancels the decision.</param>
    Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default);
}
