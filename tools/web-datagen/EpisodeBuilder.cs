using Magma.Inference.Text;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Evaluation;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Microsoft.SemanticKernel;

namespace Magma.WebDataGen;

/// <summary>
/// Multi-step examples: a goal made of 2–3 of a page's instructions, run through one of the agent's own loops — the
/// harness's <see cref="TaskRunner"/> or the kernel function <c>do_task</c> of <see cref="WebPlugin"/> (they write
/// history lines differently; the seed picks one) — with a scripted policy that answers each step in the policy's
/// format, then <c>{"ACTION": "DONE"}</c>. Each decision becomes an example whose prompt carries the history lines
/// exactly as the loop wrote them. An episode whose steps do not all take effect is dropped.
/// </summary>
internal static class EpisodeBuilder
{
    /// <summary>Whether the episode of a page runs through <c>do_task</c> (else <see cref="TaskRunner"/>): half the seeds each.</summary>
    internal static bool UsesDoTask(int seed) => new PageRandom(seed ^ 0x5BD1E995).Chance(0.5);

    /// <summary>
    /// The episode of a page, or an empty list when the page has fewer than two step targets (click, type, select
    /// that the single-step pass kept with a mark) or the episode failed (<paramref name="why"/> says why).
    /// </summary>
    public static async Task<IReadOnlyList<Example>> RunAsync(WebSession session, GeneratedPage page, PageResult single, string root, bool imageStartEnd,
        Action<string>? why = null, CancellationToken ct = default)
    {
        HashSet<string> kept = [.. single.Examples.Where(e => e.Style == "action_json" && e.TargetMark is not null && e.Action is "CLICK" or "TYPE" or "SELECT").Select(e => e.GenId)];
        List<PageTarget> eligible = [.. page.Targets.Where(t => kept.Contains(t.GenId) && t.Action != TargetAction.Hover)];
        if (eligible.Count < 2)
        {
            return [];
        }

        var r = new PageRandom(~page.Seed);
        int n = Math.Min(eligible.Count, r.Int(2, 4));
        HashSet<PageTarget> chosen = [.. r.Distinct(eligible, n)];
        List<PageTarget> steps = [.. eligible.Where(chosen.Contains)]; // page order: fields before the submit button
        string goal = steps.Count == 2
            ? $"{steps[0].Instruction} and then {steps[1].Instruction}"
            : $"{string.Join(", ", steps.Take(steps.Count - 1).Select(s => s.Instruction))} and then {steps[^1].Instruction}";

        var policy = new ScriptedPolicy(session, steps);
        bool doTask = UsesDoTask(page.Seed);
        if (doTask)
        {
            await session.OpenAsync($"{ExampleBuilder.Origin}/{page.FileName}", ct).ConfigureAwait(false);
            var plugin = new WebPlugin(session, policy: policy);
            Kernel kernel = Kernel.CreateBuilder().Build();
            kernel.Plugins.AddFromObject(plugin, plugin.Name);
            await kernel.InvokeAsync(plugin.Name, "do_task", new KernelArguments { ["goal"] = goal, ["max_steps"] = steps.Count + 1 }, ct).ConfigureAwait(false);
        }
        else
        {
            var runner = new TaskRunner(new PageSource(page, goal), (_, _) => policy, maxSteps: steps.Count + 1);
            await runner.RunAsync(session, page.FileName, page.Seed, ct).ConfigureAwait(false);
        }

        if (policy.Failure is { } failure)
        {
            why?.Invoke(failure);
            return [];
        }

        foreach (PageTarget t in steps)
        {
            if (!await Acting.EffectHoldsAsync(session, t.Effect).ConfigureAwait(false))
            {
                why?.Invoke("episode step did not take effect");
                return [];
            }
        }

        var examples = new List<Example>();
        Directory.CreateDirectory(Path.Combine(root, "images"));
        for (int i = 0; i < policy.Records.Count; i++)
        {
            Recorded rec = policy.Records[i];
            string image = $"images/p{page.Seed:D7}-e{i}.png";
            await File.WriteAllBytesAsync(Path.Combine(root, image), rec.Observation.Marked.EncodePng(), ct).ConfigureAwait(false);
            ChatContent content = MagmaWebPolicy.ActionPrompt(rec.Observation, goal, rec.History, imageStartEnd);
            IReadOnlyList<ChatTurn> turns = MagmaPrompts.Conversation(content);
            examples.Add(new Example
            {
                Id = $"p{page.Seed:D7}-e{i}",
                Seed = page.Seed,
                GeneratorVersion = PageGenerator.Version,
                Kind = page.Kind,
                Style = "action_json",
                Instruction = goal,
                Action = rec.Action,
                Value = rec.Target?.Value,
                Image = image,
                ImageWidth = rec.Observation.Marked.Width,
                ImageHeight = rec.Observation.Marked.Height,
                Messages = [.. turns.Select(t => new PromptMessage(t.Role.ToString().ToLowerInvariant(), t.Content.ToString()))],
                Prompt = ChatTemplate.Llama3.Render(turns),
                Step = i,
                Loop = doTask ? "do_task" : "task_runner",
                History = rec.History,
                Answer = rec.Answer,
                TargetMark = rec.Mark?.Id,
                TargetBox = rec.Mark is null ? null : [Math.Round(rec.Mark.PixelBox.X, 1), Math.Round(rec.Mark.PixelBox.Y, 1), Math.Round(rec.Mark.PixelBox.Width, 1), Math.Round(rec.Mark.PixelBox.Height, 1)],
                TargetRole = rec.Mark?.Role,
                TargetName = rec.Mark?.Name,
                TargetContext = rec.Mark?.Context,
                GenId = rec.Target?.GenId ?? "",
                Effect = rec.Target?.Effect ?? string.Join(" && ", steps.Select(s => "(" + s.Effect + ")")),
            });
        }

        return examples;
    }

    private sealed record Recorded(WebObservation Observation, string[] History, string Action, string Answer, WebMark? Mark, PageTarget? Target);

    /// <summary>Answers each step with the next target's mark (found by hit-testing), then DONE; records what it saw.</summary>
    private sealed class ScriptedPolicy(WebSession session, IReadOnlyList<PageTarget> steps) : IWebPolicy
    {
        private int _next;

        public List<Recorded> Records { get; } = [];

        public string? Failure { get; private set; }

        public async Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default)
        {
            string[] seen = [.. history];
            if (Failure is not null || _next == steps.Count)
            {
                const string done = "{\"ACTION\": \"DONE\"}";
                Records.Add(new Recorded(observation, seen, "DONE", done, null, null));
                return MagmaWebPolicy.ReadAction(observation, done, "", 0);
            }

            PageTarget target = steps[_next++];
            (string?[] hits, _) = await ExampleBuilder.ProbeAsync(session, observation, [target.GenId]).ConfigureAwait(false);
            List<WebMark> marks = [.. observation.Marks.Where(m => hits[m.Id] == target.GenId)];
            if (marks.Count != 1)
            {
                Failure = $"episode step: {marks.Count} marks hit the element";
                return new WebDecision { Kind = WebDecisionKind.Done };
            }

            (string action, string answer) = ExampleBuilder.Answer(target, marks[0]);
            WebDecision d = MagmaWebPolicy.ReadAction(observation, answer, "", 0);
            if (d.Mark != marks[0].Id || d.Kind == WebDecisionKind.Invalid)
            {
                throw new InvalidOperationException($"the policy reads \"{answer}\" as {d} ({d.Note}).");
            }

            Records.Add(new Recorded(observation, seen, action, answer, marks[0], target));
            return d;
        }
    }

    /// <summary>The page as a one-task source: opens it, gives the goal, never ends the episode by itself.</summary>
    private sealed class PageSource(GeneratedPage page, string goal) : ITaskSource
    {
        public string Name => "web-datagen";

        public IReadOnlyList<string> Tasks => [page.FileName];

        public WebSessionOptions SessionOptions => new();

        public async Task<EpisodeStart> StartAsync(WebSession session, string task, int seed)
        {
            await session.OpenAsync($"{ExampleBuilder.Origin}/{page.FileName}").ConfigureAwait(false);
            return new EpisodeStart(goal, null);
        }

        public Task<double?> RewardAsync(WebSession session) => Task.FromResult<double?>(null);

        public bool IsSuccess(double reward) => reward >= 1;
    }
}
