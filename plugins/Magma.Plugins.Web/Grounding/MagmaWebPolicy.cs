using System.Diagnostics;
using System.Text;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Text;
using Magma.Plugins.Web.Observation;
using Magma.Tasks;
using Magma.Tasks.Decoding;

namespace Magma.Plugins.Web.Grounding;

/// <summary>How the Magma policy asks for the next step.</summary>
public enum WebPromptStyle
{
    /// <summary>
    /// Mind2Web-style: goal, history lines <c>[role] text -> ACTION</c>, the mark list, and a JSON reply
    /// <c>{"ACTION": …, "MARK": n, "VALUE": …}</c>; falls back to the click-target rules.
    /// </summary>
    ActionJson,

    /// <summary>The UI demo's click prompt (spec §5.3): every step is a click on the goal's target.</summary>
    UiClick,
}

/// <summary>Grounding result: the target of an instruction in an observation.</summary>
/// <param name="Mark">The mark, when the answer named one or its point falls inside one.</param>
/// <param name="Pixel">Click point in screenshot pixels, or null when unparseable.</param>
/// <param name="RawAnswer">The model's answer.</param>
/// <param name="Prompt">The user turn sent.</param>
/// <param name="Note">How the answer was read, or why it failed.</param>
/// <param name="ModelMs">Milliseconds in the model.</param>
public sealed record WebGrounding(WebMark? Mark, (double X, double Y)? Pixel, string RawAnswer, string Prompt, string Note, double ModelMs);

/// <summary>
/// The Magma policy: sends the marked screenshot with a UI prompt to a <see cref="MagmaModel"/> and turns the answer
/// into a decision. A point outside every mark becomes a point click (the element under it).
/// </summary>
public sealed class MagmaWebPolicy : IWebPolicy
{
    private readonly MagmaModel _model;

    /// <summary>Creates the policy.</summary>
    public MagmaWebPolicy(MagmaModel model, WebPromptStyle style = WebPromptStyle.ActionJson)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Style = style;
    }

    /// <summary>The prompt style.</summary>
    public WebPromptStyle Style { get; }

    /// <summary>New tokens per answer (default 64: a JSON action or a coordinate fits).</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Grounds an instruction with the UI demo's click prompt (spec §5.3) and resolves mark or point.</summary>
    public async Task<WebGrounding> GroundAsync(WebObservation observation, string instruction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(instruction);
        string prompt = MagmaPrompts.UiClick(instruction, _model.UseImageStartEnd).ToString();
        var sw = Stopwatch.StartNew();
        DecodeResult<UiTarget> target = await _model.GroundAsync(observation.Marked, instruction, observation.NormalizedBoxes,
            new GenerationOptions { MaxNewTokens = MaxNewTokens }, cancellationToken).ConfigureAwait(false);
        double ms = sw.Elapsed.TotalMilliseconds;
        return Resolve(observation, target, prompt, ms);
    }

    /// <inheritdoc />
    public async Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(goal);
        ArgumentNullException.ThrowIfNull(history);
        if (Style == WebPromptStyle.UiClick)
        {
            WebGrounding g = await GroundAsync(observation, goal, cancellationToken).ConfigureAwait(false);
            return g.Pixel is null
                ? new WebDecision { Kind = WebDecisionKind.Invalid, Prompt = g.Prompt, RawAnswer = g.RawAnswer, ModelMs = g.ModelMs, Note = g.Note }
                : new WebDecision { Kind = WebDecisionKind.Click, Mark = g.Mark?.Id, Point = g.Mark is null ? g.Pixel : null, Prompt = g.Prompt, RawAnswer = g.RawAnswer, ModelMs = g.ModelMs, Note = g.Note };
        }

        ChatContent prompt = ActionPrompt(observation, goal, history, _model.UseImageStartEnd);
        var sw = Stopwatch.StartNew();
        MagmaResponse response = await _model.GenerateAsync(new MagmaRequest
        {
            Images = [observation.Marked],
            Turns = MagmaPrompts.Conversation(prompt),
            Options = new GenerationOptions { MaxNewTokens = MaxNewTokens },
        }, cancellationToken).ConfigureAwait(false);
        double ms = sw.Elapsed.TotalMilliseconds;
        return ReadAction(observation, response.Text, prompt.ToString(), ms);
    }

    /// <summary>
    /// One history line of the prompt: <c>[role] name -&gt; ACTION value (outcome)</c>, single-spaced, the name left out
    /// when the element has none and <c>[page]</c> when the action had no element (an invalid answer, a scroll).
    /// </summary>
    internal static string HistoryLine(string? role, string? name, WebDecision decision, string outcome)
    {
        var s = new StringBuilder("[").Append(string.IsNullOrWhiteSpace(role) ? "page" : role).Append(']');
        if (!string.IsNullOrWhiteSpace(name))
        {
            s.Append(' ').Append(name.Trim());
        }

        s.Append(" -> ").Append(decision.Kind.ToString().ToUpperInvariant());
        if (decision.Value is not null)
        {
            s.Append(' ').Append(decision.Value);
        }

        return s.Append(" (").Append(outcome).Append(')').ToString();
    }

    /// <summary>
    /// The Mind2Web-style prompt (user turn), with history lines and the mark list. Goal, history and page text are
    /// plain text: a label such as <c>Add &lt;image&gt; to cart</c> stays characters.
    /// </summary>
    public static ChatContent ActionPrompt(WebObservation observation, string goal, IReadOnlyList<string> history, bool useImageStartEnd)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentNullException.ThrowIfNull(history);
        var s = new StringBuilder();
        s.Append('\n');
        s.Append("Imagine that you are imitating humans doing web navigation for a task step by step. ");
        s.Append("The screenshot shows the web page with candidate elements in numeric marks and bounding boxes.\n");
        s.Append("Task: ").Append(goal).Append('\n');
        s.Append("Previous actions:\n");
        if (history.Count == 0)
        {
            s.Append("None\n");
        }

        foreach (string h in history)
        {
            s.Append(h).Append('\n');
        }

        s.Append("Candidates:\n").Append(observation.MarkList());
        s.Append("What is the next action? Answer with JSON: {\"ACTION\": \"CLICK\" | \"TYPE\" | \"SELECT\", \"MARK\": mark_index, \"VALUE\": text_or_option}, ");
        s.Append("or {\"ACTION\": \"HOVER\" | \"DOUBLE_CLICK\", \"MARK\": mark_index}, ");
        s.Append("or {\"ACTION\": \"SET_VALUE\", \"MARK\": mark_index, \"VALUE\": value} for dates (YYYY-MM-DD), times (HH:MM), colours (#rrggbb) and sliders (a number), ");
        s.Append("or {\"ACTION\": \"ADD_OPTION\" | \"REMOVE_OPTION\", \"MARK\": mark_index, \"VALUE\": option} for lists that allow several choices, ");
        s.Append("or {\"ACTION\": \"DRAG\", \"MARK\": mark_index, \"TO\": mark_index or [x, y]}, ");
        s.Append("or {\"ACTION\": \"PRESS\", \"VALUE\": key}, or {\"ACTION\": \"WAIT\", \"VALUE\": milliseconds}, or {\"ACTION\": \"BACK\"}, ");
        s.Append("or {\"ACTION\": \"SCROLL\", \"VALUE\": \"DOWN\" | \"UP\"}, or {\"ACTION\": \"DONE\"} when the task is complete.");
        return MagmaPrompts.Image(useImageStartEnd) + s.ToString();
    }

    /// <summary>
    /// Reads an answer: a JSON action of the web vocabulary (hover, double-click, drag, set value, add/remove option,
    /// press, back, wait, scroll, done), then Mind2Web's CLICK/TYPE/SELECT, then DONE/SCROLL words, then the click-target
    /// rules (mark or point).
    /// </summary>
    internal static WebDecision ReadAction(WebObservation observation, string answer, string prompt, double ms)
    {
        WebDecision Make(WebDecisionKind kind, int? mark = null, string? value = null, string note = "", (double, double)? point = null) =>
            new() { Kind = kind, Mark = mark, Value = value, Prompt = prompt, RawAnswer = answer, ModelMs = ms, Note = note, Point = point };

        // The wider web vocabulary first (hover, drag, set value, …); CLICK/TYPE/SELECT are Mind2Web's and read below.
        if (WebActionReader.Read(observation, answer, (kind, mark, value, note) => Make(kind, mark, value, note)) is { } wide)
        {
            return wide;
        }

        DecodeResult<WebAction> json = UiAnswerParser.ParseWebAction(answer);
        if (json.Value is { } a)
        {
            if (observation.Find(a.Mark) is null)
            {
                return Make(WebDecisionKind.Invalid, note: $"mark {a.Mark} is not among marks 0..{observation.Marks.Count - 1}");
            }

            return a.Operation switch
            {
                WebOperation.Type => Make(WebDecisionKind.Type, a.Mark, a.Value ?? "", "json"),
                WebOperation.Select => Make(WebDecisionKind.Select, a.Mark, a.Value ?? "", "json"),
                _ => Make(WebDecisionKind.Click, a.Mark, note: "json"),
            };
        }

        string upper = answer.ToUpperInvariant();
        if (upper.Contains("\"DONE\"", StringComparison.Ordinal))
        {
            return Make(WebDecisionKind.Done, note: "done");
        }

        if (upper.Contains("\"SCROLL\"", StringComparison.Ordinal))
        {
            return Make(WebDecisionKind.Scroll, value: upper.Contains("\"UP\"", StringComparison.Ordinal) ? "up" : "down", note: "scroll");
        }

        WebGrounding g = Resolve(observation, UiAnswerParser.ParseTarget(answer, observation.Marked.Width, observation.Marked.Height, observation.NormalizedBoxes), prompt, ms);
        if (g.Pixel is null)
        {
            return Make(WebDecisionKind.Invalid, note: $"{json.FailureReason}; {g.Note}");
        }

        return Make(WebDecisionKind.Click, g.Mark?.Id, note: g.Note, point: g.Mark is null ? g.Pixel : null);
    }

    private static WebGrounding Resolve(WebObservation observation, DecodeResult<UiTarget> target, string prompt, double ms)
    {
        if (target.Value is not { } t)
        {
            return new WebGrounding(null, null, target.RawText, prompt, target.FailureReason ?? "unparseable", ms);
        }

        (double x, double y) = (t.Pixel.X, t.Pixel.Y);
        WebMark? mark = t.MarkId is int id ? observation.Find(id) : null;
        mark ??= observation.MarkAtPixel(x, y);
        string note = mark is null ? $"point ({x:0},{y:0}) px is outside every mark: the element under it" : $"{t.Rule} -> mark {mark.Id}";
        return new WebGrounding(mark, (x, y), target.RawText, prompt, note, ms);
    }
}
