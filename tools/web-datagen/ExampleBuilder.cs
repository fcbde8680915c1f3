using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Magma.Inference.Text;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Decoding;

namespace Magma.WebDataGen;

/// <summary>One chat message of a prompt, as the chat template receives it.</summary>
/// <param name="Role">system or user.</param>
/// <param name="Content">The text; the image placeholder written as the prompt string shows it (<c>&lt;image&gt;</c>).</param>
internal sealed record PromptMessage(string Role, string Content);

/// <summary>One training example: an instruction on an observed page and the answer the policy must read as its target.</summary>
internal sealed record Example
{
    public required string Id { get; init; }

    public required int Seed { get; init; }

    public required int GeneratorVersion { get; init; }

    public required string Kind { get; init; }

    /// <summary><c>action_json</c> (the agent's step prompt, <see cref="MagmaWebPolicy.ActionPrompt"/>) or <c>ui_click</c> (the grounding prompt).</summary>
    public required string Style { get; init; }

    public required string Instruction { get; init; }

    /// <summary>CLICK, TYPE, SELECT, HOVER or SCROLL: the action the answer encodes.</summary>
    public required string Action { get; init; }

    public string? Value { get; init; }

    /// <summary>The image the policy sends (the marked screenshot), relative to the output folder.</summary>
    public required string Image { get; init; }

    public required int ImageWidth { get; init; }

    public required int ImageHeight { get; init; }

    public required IReadOnlyList<PromptMessage> Messages { get; init; }

    /// <summary>The prompt rendered by the LLaMA-3 chat template with the generation prompt (for display and checks).</summary>
    public required string Prompt { get; init; }

    /// <summary>Step of a multi-step episode (0 for the first); null for single-step examples.</summary>
    public int? Step { get; init; }

    /// <summary>The loop an episode ran through: <c>task_runner</c> (the harness) or <c>do_task</c> (the kernel function); null for single-step examples.</summary>
    public string? Loop { get; init; }

    /// <summary>The history lines the loop passed to the policy (already in the prompt); null for single-step examples.</summary>
    public IReadOnlyList<string>? History { get; init; }

    /// <summary>The assistant's answer to train on.</summary>
    public required string Answer { get; init; }

    /// <summary>The mark the answer names; null for a scroll.</summary>
    public int? TargetMark { get; init; }

    /// <summary>The target mark's box in screenshot pixels: x, y, width, height.</summary>
    public double[]? TargetBox { get; init; }

    public string? TargetRole { get; init; }

    public string? TargetName { get; init; }

    /// <summary>The target mark's <see cref="WebMark.Context"/> (the <c>in:</c> field of a shared name); null when it has none.</summary>
    public string? TargetContext { get; init; }

    /// <summary>For <c>ui_click</c>: whether the answer's point lies inside the target mark (not only its <c>Mark: N</c>).</summary>
    public bool? PointInMark { get; init; }

    /// <summary>The generated element (<c>data-gen</c>) the instruction names.</summary>
    public required string GenId { get; init; }

    /// <summary>JavaScript that is true on the page once the instruction is done (for evaluating a model in the browser).</summary>
    public required string Effect { get; init; }
}

/// <summary>A mark as recorded with its page.</summary>
internal sealed record PageMark(int Id, string Role, string Name, double[] Box, string? Context = null);

/// <summary>A target the builder could not turn into an example, and why.</summary>
internal sealed record Drop(string GenId, string Reason);

/// <summary>One observed page: its marks, and what was kept and dropped.</summary>
internal sealed record PageRecord
{
    public required int Seed { get; init; }

    public required int GeneratorVersion { get; init; }

    public required string Kind { get; init; }

    public required string Image { get; init; }

    public required string Html { get; init; }

    public required string Url { get; init; }

    public required int Width { get; init; }

    public required int Height { get; init; }

    public required IReadOnlyList<PageMark> Marks { get; init; }

    public required int Targets { get; init; }

    public required IReadOnlyList<Drop> Dropped { get; init; }
}

/// <summary>The result of one page.</summary>
internal sealed record PageResult(PageRecord Page, WebObservation Observation, IReadOnlyList<Example> Examples);

/// <summary>
/// Opens a generated page in a <see cref="WebSession"/>, observes it exactly as the agent does, finds each target's
/// mark by hit-testing the marks' centres against the generated elements, builds the prompts with the policy's own code,
/// writes the answers in the policy's format and checks that the policy's reader turns each answer back into the
/// intended action on the intended mark.
/// </summary>
internal static class ExampleBuilder
{
    /// <summary>The origin the pages are served under (request routing, no port).</summary>
    public const string Origin = "http://pages.test";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private const string Probe = """
        ({pts, ids}) => ({
          hits: pts.map(([x, y]) => { const e = document.elementFromPoint(x, y); const g = e && e.closest('[data-gen]'); return g ? g.dataset.gen : null; }),
          rects: ids.map(id => { const e = document.querySelector(`[data-gen="${id}"]`); if (!e) return null; const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }),
          vh: innerHeight
        })
        """;

    /// <summary>Builds the examples of one page, already written as <c>pages/&lt;file&gt;</c> under the site folder.</summary>
    public static async Task<PageResult> BuildAsync(WebSession session, GeneratedPage page, bool imageStartEnd, bool uiClick, CancellationToken ct = default)
    {
        string url = $"{Origin}/{page.FileName}";
        await session.OpenAsync(url, ct).ConfigureAwait(false);
        WebObservation obs = await session.ObserveAsync(ct).ConfigureAwait(false);
        (string?[] hits, bool[] belowFold) = await ProbeAsync(session, obs, [.. page.Targets.Select(t => t.GenId)]).ConfigureAwait(false);

        string image = $"images/p{page.Seed:D7}.png";
        var examples = new List<Example>();
        var dropped = new List<Drop>();
        for (int t = 0; t < page.Targets.Count; t++)
        {
            PageTarget target = page.Targets[t];
            List<WebMark> matches = [.. obs.Marks.Where(m => hits[m.Id] == target.GenId)];
            if (matches.Count == 0)
            {
                // Below the fold: the agent's right step is to scroll down (the element is not in the screenshot).
                if (belowFold[t])
                {
                    examples.Add(Make(page, obs, target, t, image, imageStartEnd, "SCROLL", "{\"ACTION\": \"SCROLL\", \"VALUE\": \"DOWN\"}", null));
                }
                else
                {
                    dropped.Add(new Drop(target.GenId, "no mark hits the element"));
                }

                continue;
            }

            if (matches.Count > 1)
            {
                dropped.Add(new Drop(target.GenId, $"{matches.Count} marks hit the element"));
                continue;
            }

            WebMark mark = matches[0];
            if (Reject(obs, target, mark) is { } reason)
            {
                dropped.Add(new Drop(target.GenId, reason));
                continue;
            }

            (string action, string answer) = Answer(target, mark);
            examples.Add(Make(page, obs, target, t, image, imageStartEnd, action, answer, mark));
            if (uiClick && target.Action is TargetAction.Click or TargetAction.Check)
            {
                examples.Add(MakeUiClick(page, obs, target, t, image, imageStartEnd, mark));
            }
        }

        var record = new PageRecord
        {
            Seed = page.Seed,
            GeneratorVersion = PageGenerator.Version,
            Kind = page.Kind,
            Image = image,
            Html = "pages/" + page.FileName,
            Url = url,
            Width = obs.Marked.Width,
            Height = obs.Marked.Height,
            Marks = [.. obs.Marks.Select(m => new PageMark(m.Id, m.Role, m.Name, Box(m), m.Context))],
            Targets = page.Targets.Count,
            Dropped = dropped,
        };
        return new PageResult(record, obs, examples);
    }

    /// <summary>The action word and the JSON answer of the agent's step prompt for a target on its mark.</summary>
    internal static (string Action, string Answer) Answer(PageTarget target, WebMark mark) => target.Action switch
    {
        TargetAction.Type => ("TYPE", $"{{\"ACTION\": \"TYPE\", \"MARK\": {Id(mark)}, \"VALUE\": {Str(target.Value!)}}}"),
        TargetAction.Select => ("SELECT", $"{{\"ACTION\": \"SELECT\", \"MARK\": {Id(mark)}, \"VALUE\": {Str(target.Value!)}}}"),
        TargetAction.Hover => ("HOVER", $"{{\"ACTION\": \"HOVER\", \"MARK\": {Id(mark)}}}"),
        _ => ("CLICK", $"{{\"ACTION\": \"CLICK\", \"MARK\": {Id(mark)}}}"),
    };

    /// <summary>For each generated element, the marks whose box centre hits it (or a descendant), and whether it lies below the fold.</summary>
    internal static async Task<(string?[] Hits, bool[] Below)> ProbeAsync(WebSession session, WebObservation obs, IReadOnlyList<string> ids)
    {
        double[][] points = [.. obs.Marks.Select(m => new double[] { m.CssBox.X + (m.CssBox.Width / 2), m.CssBox.Y + (m.CssBox.Height / 2) })];
        JsonElement probe = await session.Page.EvaluateAsync<JsonElement>(Probe, new { pts = points, ids }).ConfigureAwait(false);
        string?[] hits = [.. probe.GetProperty("hits").EnumerateArray().Select(h => h.ValueKind == JsonValueKind.String ? h.GetString() : null)];
        double vh = probe.GetProperty("vh").GetDouble();
        bool[] below = [.. probe.GetProperty("rects").EnumerateArray().Select(r => r.ValueKind == JsonValueKind.Array && r[1].GetDouble() >= vh)];
        return (hits, below);
    }

    /// <summary>Why a mark is not a clean target for the instruction, or null when it is.</summary>
    private static string? Reject(WebObservation obs, PageTarget target, WebMark mark)
    {
        if (target.ExpectedName is { } name)
        {
            if (!string.Equals(mark.Name.Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return $"mark name \"{mark.Name}\" is not \"{name}\"";
            }

            // The instruction names the element by its name alone: another mark with that name would make it ambiguous.
            if (obs.Marks.Any(m => m.Id != mark.Id && string.Equals(m.Name.Trim(), name, StringComparison.OrdinalIgnoreCase)))
            {
                return $"another mark is also named \"{name}\"";
            }
        }

        return target.Action switch
        {
            TargetAction.Type when mark.Role is not ("textbox" or "searchbox" or "combobox") => $"role {mark.Role} is not a text field",
            TargetAction.Select when mark.Options is null || !mark.Options.Any(o => o.Text == target.Value) => $"select mark has no option \"{target.Value}\"",
            TargetAction.Check when mark.Checked is not false => $"role {mark.Role} is not an unchecked checkbox or radio",
            _ => null,
        };
    }

    private static Example Make(GeneratedPage page, WebObservation obs, PageTarget target, int index, string image, bool imageStartEnd, string action, string answer, WebMark? mark)
    {
        ChatContent content = MagmaWebPolicy.ActionPrompt(obs, target.Instruction, [], imageStartEnd);
        WebDecision read = MagmaWebPolicy.ReadAction(obs, answer, "", 0);
        WebDecisionKind expected = action switch
        {
            "TYPE" => WebDecisionKind.Type,
            "SELECT" => WebDecisionKind.Select,
            "HOVER" => WebDecisionKind.Hover,
            "SCROLL" => WebDecisionKind.Scroll,
            _ => WebDecisionKind.Click,
        };
        string? value = action == "SCROLL" ? "down" : target.Action is TargetAction.Type or TargetAction.Select ? target.Value : null;
        if (read.Kind != expected || read.Mark != mark?.Id || read.Value != value)
        {
            throw new InvalidOperationException($"seed {page.Seed} {target.GenId}: the policy reads \"{answer}\" as {read} ({read.Note}), not {action} on mark {mark?.Id}.");
        }

        return Record(page, obs, target, index, image, "action_json", content, action, value is "down" ? "DOWN" : value, answer, mark, null);
    }

    private static Example MakeUiClick(GeneratedPage page, WebObservation obs, PageTarget target, int index, string image, bool imageStartEnd, WebMark mark)
    {
        ChatContent content = MagmaPrompts.UiClick(target.Instruction, imageStartEnd);
        NormalizedBox box = obs.NormalizedBoxes[mark.Id];
        string answer = string.Create(CultureInfo.InvariantCulture, $"Coordinate: ({box.Center.X:0.00}, {box.Center.Y:0.00}). Mark: {mark.Id}");
        DecodeResult<UiTarget> read = UiAnswerParser.ParseTarget(answer, obs.Marked.Width, obs.Marked.Height, obs.NormalizedBoxes);
        if (read.Value?.MarkId != mark.Id)
        {
            throw new InvalidOperationException($"seed {page.Seed} {target.GenId}: the grounding parser reads \"{answer}\" as mark {read.Value?.MarkId} ({read.FailureReason}), not {mark.Id}.");
        }

        bool inside = obs.MarkAtPixel(Math.Round(box.Center.X, 2) * obs.Marked.Width, Math.Round(box.Center.Y, 2) * obs.Marked.Height)?.Id == mark.Id;
        return Record(page, obs, target, index, image, "ui_click", content, "CLICK", null, answer, mark, inside);
    }

    internal static Example Record(GeneratedPage page, WebObservation obs, PageTarget target, int index, string image, string style, ChatContent content,
        string action, string? value, string answer, WebMark? mark, bool? pointInMark)
    {
        IReadOnlyList<ChatTurn> turns = MagmaPrompts.Conversation(content);
        return new Example
        {
            Id = $"p{page.Seed:D7}-t{index}-{(style == "ui_click" ? "ui" : "json")}",
            Seed = page.Seed,
            GeneratorVersion = PageGenerator.Version,
            Kind = page.Kind,
            Style = style,
            Instruction = target.Instruction,
            Action = action,
            Value = value,
            Image = image,
            ImageWidth = obs.Marked.Width,
            ImageHeight = obs.Marked.Height,
            Messages = [.. turns.Select(t => new PromptMessage(t.Role.ToString().ToLowerInvariant(), t.Content.ToString()))],
            Prompt = ChatTemplate.Llama3.Render(turns),
            Answer = answer,
            TargetMark = mark?.Id,
            TargetBox = mark is null ? null : Box(mark),
            TargetRole = mark?.Role,
            TargetName = mark?.Name,
            TargetContext = mark?.Context,
            PointInMark = pointInMark,
            GenId = target.GenId,
            Effect = target.Effect,
        };
    }

    private static double[] Box(WebMark m) => [Math.Round(m.PixelBox.X, 1), Math.Round(m.PixelBox.Y, 1), Math.Round(m.PixelBox.Width, 1), Math.Round(m.PixelBox.Height, 1)];

    internal static string Id(WebMark m) => m.Id.ToString(CultureInfo.InvariantCulture);

    private static string Str(string s) => JsonSerializer.Serialize(s, Json);
}
