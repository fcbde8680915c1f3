namespace Magma.WebDataGen;

/// <summary>What an instruction asks the agent to do to its target.</summary>
internal enum TargetAction
{
    /// <summary>Click a button or link (answer CLICK).</summary>
    Click,

    /// <summary>Type <see cref="PageTarget.Value"/> into a field (answer TYPE).</summary>
    Type,

    /// <summary>Select option <see cref="PageTarget.Value"/> in a select (answer SELECT).</summary>
    Select,

    /// <summary>Check a checkbox or choose a radio button (answer CLICK).</summary>
    Check,

    /// <summary>Move the mouse over a menu that opens on hover (answer HOVER).</summary>
    Hover,
}

/// <summary>One instruction on a generated page and the element it names.</summary>
internal sealed record PageTarget
{
    /// <summary>The <c>data-gen</c> attribute of the element the generator created for it.</summary>
    public required string GenId { get; init; }

    /// <summary>What to do.</summary>
    public required TargetAction Action { get; init; }

    /// <summary>The instruction, from a template.</summary>
    public required string Instruction { get; init; }

    /// <summary>Text to type or option to select; null for clicks and hovers.</summary>
    public string? Value { get; init; }

    /// <summary>
    /// The accessible name the observation must give the target mark (case-insensitive), or null when the instruction
    /// names the element through its context (the "Add to basket" button of a product) rather than by its own name.
    /// </summary>
    public string? ExpectedName { get; init; }

    /// <summary>A JavaScript expression that is true once the instruction is carried out (the page's own state).</summary>
    public required string Effect { get; init; }
}

/// <summary>A page made from one seed: its HTML and its instructions.</summary>
/// <param name="Seed">The page seed.</param>
/// <param name="Kind">shop, form, list, table, menu, dialog or navbar.</param>
/// <param name="Html">The document.</param>
/// <param name="Targets">The instructions, in generation order.</param>
internal sealed record GeneratedPage(int Seed, string Kind, string Html, IReadOnlyList<PageTarget> Targets)
{
    /// <summary>The page's file name, e.g. <c>p0000042.html</c>.</summary>
    public string FileName => $"p{Seed:D7}.html";
}
