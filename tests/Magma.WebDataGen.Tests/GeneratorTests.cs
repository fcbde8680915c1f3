using System.Text.Json;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Decoding;

namespace Magma.WebDataGen.Tests;

/// <summary>The page generator alone: pure functions of the seed.</summary>
public sealed class PageGeneratorTests
{
    private static string Serialize(GeneratedPage p) => JsonSerializer.Serialize(p, ExampleBuilder.Json);

    [Fact]
    public void Same_seed_gives_the_same_page_and_instructions()
    {
        foreach (int seed in new[] { 0, 7, 123_456, 1_000_003 })
        {
            Assert.Equal(Serialize(PageGenerator.Generate(seed)), Serialize(PageGenerator.Generate(seed)));
        }
    }

    [Fact]
    public void Different_seeds_give_different_pages_and_every_kind_appears()
    {
        GeneratedPage[] pages = [.. Enumerable.Range(0, 100).Select(s => PageGenerator.Generate(s))];
        Assert.Equal(100, pages.Select(p => p.Html).Distinct().Count());
        Assert.Equal(PageGenerator.Kinds.Order(), pages.Select(p => p.Kind).Distinct().Order());
        // Neighbouring seeds are not near-copies: the kinds of seeds 0..99 are spread out, not in runs.
        Assert.True(pages.Zip(pages.Skip(1)).Count(x => x.First.Kind != x.Second.Kind) > 60);
    }

    [Fact]
    public void Every_page_has_targets_with_unique_data_gen_ids_present_in_its_html()
    {
        for (int seed = 0; seed < 60; seed++)
        {
            GeneratedPage p = PageGenerator.Generate(seed);
            Assert.InRange(p.Targets.Count, 1, PageGenerator.MaxTargetsPerPage);
            Assert.Equal(p.Targets.Count, p.Targets.Select(t => t.GenId).Distinct().Count());
            foreach (PageTarget t in p.Targets)
            {
                Assert.Contains($"data-gen=\"{t.GenId}\"", p.Html, StringComparison.Ordinal);
                Assert.Equal(t.Action is TargetAction.Type or TargetAction.Select, t.Value is not null);
            }
        }
    }

    [Fact]
    public void Word_list_has_options_for_every_select_field()
    {
        foreach (string field in Words.Default["select_fields"])
        {
            Assert.True(Words.Default.Has("options_" + field), field);
            Assert.True(Words.Default["options_" + field].Count >= 4, field);
        }

        Assert.Throws<FormatException>(() => Words.Parse("orphan\n[a]\nb"));
    }
}

/// <summary>Pages rendered by Chromium and observed through WebSession, as the agent sees them.</summary>
public sealed class ObservedExampleTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "wdg-test-" + Guid.NewGuid().ToString("N"));
    private WebSession _session = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _session = await WebSession.LaunchAsync(new WebSessionOptions
        {
            LocalSites = new Dictionary<string, string> { [ExampleBuilder.Origin] = _dir },
            // Acting on "Add to basket" and the like is what these pages are for.
            Approve = (_, _) => Task.FromResult(true),
        });
    }

    public async Task DisposeAsync()
    {
        await _session.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<PageResult> BuildAsync(int seed)
    {
        GeneratedPage page = PageGenerator.Generate(seed);
        await File.WriteAllTextAsync(Path.Combine(_dir, page.FileName), page.Html);
        return await ExampleBuilder.BuildAsync(_session, page, imageStartEnd: true, uiClick: true);
    }

    /// <summary>The first seeds of each kind among 0..199 (pure, cheap).</summary>
    private static int SeedOf(string kind, int skip = 0) =>
        Enumerable.Range(0, 200).Where(s => PageGenerator.Generate(s).Kind == kind).Skip(skip).First();

    [Fact]
    public async Task Same_seed_gives_identical_examples_and_another_seed_different_ones()
    {
        int seed = SeedOf("shop");
        string a = JsonSerializer.Serialize((await BuildAsync(seed)).Examples, ExampleBuilder.Json);
        string b = JsonSerializer.Serialize((await BuildAsync(seed)).Examples, ExampleBuilder.Json);
        string c = JsonSerializer.Serialize((await BuildAsync(SeedOf("shop", 1))).Examples, ExampleBuilder.Json);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Theory]
    [InlineData("shop")]
    [InlineData("form")]
    [InlineData("menu")]
    [InlineData("dialog")]
    public async Task Answers_parse_back_to_the_target_and_acting_on_them_does_what_the_instruction_says(string kind)
    {
        int seed = SeedOf(kind);
        PageResult first = await BuildAsync(seed);
        Assert.NotEmpty(first.Examples);
        foreach (Example e in first.Examples)
        {
            // A fresh page for each example: the same seed renders the same marks.
            PageResult again = await BuildAsync(seed);
            WebObservation obs = again.Observation;
            Assert.Equal(first.Page.Marks.Select(m => (m.Id, m.Role, m.Name)), again.Page.Marks.Select(m => (m.Id, m.Role, m.Name)));

            // The messages are the agent's: system prompt and the policy's user turn with the image placeholder.
            Assert.Equal(MagmaPrompts.SystemPrompt, e.Messages[0].Content);
            Assert.StartsWith("<image_start><image><image_end>", e.Messages[1].Content, StringComparison.Ordinal);
            Assert.Contains(e.Instruction, e.Messages[1].Content, StringComparison.Ordinal);

            WebDecision d;
            if (e.Style == "ui_click")
            {
                DecodeResult<UiTarget> t = UiAnswerParser.ParseTarget(e.Answer, obs.Marked.Width, obs.Marked.Height, obs.NormalizedBoxes);
                Assert.Equal(e.TargetMark, t.Value!.MarkId);
                d = new WebDecision { Kind = WebDecisionKind.Click, Mark = t.Value.MarkId };
            }
            else
            {
                Assert.Contains(obs.MarkList(), e.Messages[1].Content, StringComparison.Ordinal);
                d = MagmaWebPolicy.ReadAction(obs, e.Answer, "", 0);
                Assert.Equal(e.TargetMark, d.Mark);
            }

            if (e.TargetMark is int mark)
            {
                Assert.Equal(e.TargetName, obs.Marks[mark].Name);
                Assert.False(await Acting.EffectHoldsAsync(_session, e.Effect), $"{e.Id}: effect holds before acting");
            }

            await Acting.ActAsync(_session, obs, d);
            if (e.Action == "SCROLL")
            {
                Assert.True(await _session.Page.EvaluateAsync<bool>("() => scrollY > 0"), e.Id);
            }
            else
            {
                Assert.True(await Acting.EffectHoldsAsync(_session, e.Effect), $"{e.Id}: \"{e.Instruction}\" -> {e.Answer} did not take effect");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_episode_runs_through_the_agents_loop_with_its_history_lines_and_ends_with_done(bool doTask)
    {
        int seed = Enumerable.Range(0, 400).First(s => EpisodeBuilder.UsesDoTask(s) == doTask
            && PageGenerator.Generate(s) is { Kind: "form" } p && p.Targets.Count(t => t.Action is TargetAction.Type) >= 2);
        PageResult single = await BuildAsync(seed);
        var drops = new List<string>();
        IReadOnlyList<Example> steps = await EpisodeBuilder.RunAsync(_session, PageGenerator.Generate(seed), single, _dir, imageStartEnd: true, drops.Add);
        Assert.Empty(drops);
        Assert.InRange(steps.Count, 3, 4);
        for (int i = 0; i < steps.Count; i++)
        {
            Example e = steps[i];
            Assert.Equal(i, e.Step);
            Assert.Equal(i, e.History!.Count);
            Assert.True(File.Exists(Path.Combine(_dir, e.Image)));
            Assert.Contains(i == 0 ? "Previous actions:\nNone\n" : "Previous actions:\n" + string.Join("\n", e.History) + "\n", e.Messages[1].Content, StringComparison.Ordinal);
            Assert.Equal(doTask ? "do_task" : "task_runner", e.Loop);
            if (i > 0)
            {
                // The loop's own line: TaskRunner prints the decision then the effect; do_task prints
                // MagmaWebPolicy.HistoryLine, "[role] name -> ACTION value (outcome)".
                Example previous = steps[i - 1];
                string expected = doTask
                    ? $"[{previous.TargetRole}] {previous.TargetName} -> {previous.Action}"
                    : $"{previous.Action} [{previous.TargetMark}]";
                Assert.StartsWith(expected, e.History[^1], StringComparison.Ordinal);
            }
        }

        Assert.Equal("{\"ACTION\": \"DONE\"}", steps[^1].Answer);
        Assert.Null(steps[^1].TargetMark);
        // The goal's steps all hold on the page once the episode is over.
        Assert.True(await Acting.EffectHoldsAsync(_session, steps[^1].Effect));
    }

    [Fact]
    public async Task A_wrong_mark_does_not_take_effect()
    {
        // The effect check can fail: clicking another product's button does not put this product in the basket.
        PageResult r = await BuildAsync(SeedOf("shop"));
        Example e = r.Examples.First(x => x.Style == "action_json" && x.Action == "CLICK" && x.Effect.Contains("basket", StringComparison.Ordinal));
        WebMark other = r.Observation.Marks.First(m => m.Id != e.TargetMark && m.Name == e.TargetName);
        await _session.ClickAsync(r.Observation.Id, other.Id);
        Assert.False(await Acting.EffectHoldsAsync(_session, e.Effect));
    }
}

/// <summary>The command's output folder.</summary>
public sealed class OutputTests
{
    [Fact]
    public async Task Output_has_a_png_per_page_a_jsonl_line_per_example_and_a_manifest_that_counts_them()
    {
        string dir = Path.Combine(Path.GetTempPath(), "wdg-out-" + Guid.NewGuid().ToString("N"));
        try
        {
            Manifest m = await DataGenerator.RunAsync(new DataGenOptions { Output = dir, FirstSeed = 1_000_000, Pages = 3 });
            string[] lines = await File.ReadAllLinesAsync(Path.Combine(dir, "examples.jsonl"));
            Assert.Equal(m.Examples, lines.Length);
            Assert.Equal(3, (await File.ReadAllLinesAsync(Path.Combine(dir, "pages.jsonl"))).Length);
            Assert.Equal(m.Examples, m.ByStyle.Values.Sum());
            using JsonDocument manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "manifest.json")));
            Assert.Equal(PageGenerator.Version, manifest.RootElement.GetProperty("generator_version").GetInt32());
            Assert.Equal(1_000_000, manifest.RootElement.GetProperty("first_seed").GetInt32());
            foreach (string line in lines)
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                JsonElement e = doc.RootElement;
                RgbImage image = RgbImage.Load(Path.Combine(dir, e.GetProperty("image").GetString()!));
                Assert.Equal(e.GetProperty("image_width").GetInt32(), image.Width);
                Assert.Equal(1280, image.Width);
                Assert.Equal(800, image.Height);
                Assert.StartsWith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>", e.GetProperty("prompt").GetString(), StringComparison.Ordinal);
                Assert.EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n", e.GetProperty("prompt").GetString(), StringComparison.Ordinal);
                Assert.InRange(e.GetProperty("seed").GetInt32(), 1_000_000, 1_000_002);
            }
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Eval_mode_answers_every_single_step_example_through_the_policy_and_its_summary_counts_the_rows()
    {
        string dir = Path.Combine(Path.GetTempPath(), "wdg-eval-" + Guid.NewGuid().ToString("N"));
        try
        {
            // The tiny random-weight model: its answers are noise, so this checks the plumbing (every example answered by
            // the engine through the policy, rows and summary agree), not accuracy.
            Manifest m = await DataGenerator.RunAsync(new DataGenOptions
            {
                Output = dir, FirstSeed = 1_000_000, Pages = 1, Episodes = false,
                EvalModel = Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma"),
            });
            string[] ids = [.. (await File.ReadAllLinesAsync(Path.Combine(dir, "examples.jsonl"))).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()!)];
            JsonElement[] rows = [.. (await File.ReadAllLinesAsync(Path.Combine(dir, "eval.jsonl"))).Select(l => JsonDocument.Parse(l).RootElement)];
            Assert.Equal(m.Examples, ids.Length);
            Assert.Equal(ids, rows.Select(r => r.GetProperty("id").GetString()!));
            Assert.Contains(rows, r => r.GetProperty("style").GetString() == "ui_click");
            Assert.Contains(rows, r => r.GetProperty("style").GetString() == "action_json");
            Assert.All(rows, r => Assert.True(r.GetProperty("model_ms").GetDouble() > 0));
            Assert.All(rows, r => Assert.False(r.GetProperty("correct").GetBoolean() && !r.GetProperty("mark_right").GetBoolean() && r.TryGetProperty("target_mark", out _)));
            using JsonDocument summary = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "eval.json")));
            JsonElement s = summary.RootElement;
            Assert.Equal(rows.Length, s.GetProperty("examples").GetInt32());
            Assert.Equal(Math.Round(rows.Count(r => r.GetProperty("correct").GetBoolean()) / (double)rows.Length, 4), s.GetProperty("correct").GetDouble());
            Assert.Equal(rows.Length, s.GetProperty("by_style").EnumerateObject().Sum(p => p.Value[0].GetDouble()));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
