using Magma.Inference;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Magma.Plugins.Web.Safety;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Tests;

/// <summary>The real Magma path with the tiny random-weight package: its choices are noise, the plumbing is not.</summary>
public sealed class GroundingTests
{
    private static string TinyModel => Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma");

    [Fact]
    public async Task Answers_are_read_as_json_actions_marks_or_points_with_point_fallback()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("form.html"));
        WebObservation obs = await session.ObserveAsync();
        int name = obs.Marks.Single(m => m.Name == "Name").Id;

        WebDecision json = MagmaWebPolicy.ReadAction(obs, $"{{\"ACTION\": \"TYPE\", \"MARK\": {name}, \"VALUE\": \"Ada\"}}", "p", 1);
        Assert.Equal(WebDecisionKind.Type, json.Kind);
        Assert.Equal(name, json.Mark);
        Assert.Equal("Ada", json.Value);
        Assert.Equal(WebDecisionKind.Invalid, MagmaWebPolicy.ReadAction(obs, "{\"ACTION\": \"CLICK\", \"MARK\": 99}", "p", 1).Kind);
        Assert.Equal(WebDecisionKind.Done, MagmaWebPolicy.ReadAction(obs, "{\"ACTION\": \"DONE\"}", "p", 1).Kind);
        Assert.Equal("down", MagmaWebPolicy.ReadAction(obs, "{\"ACTION\": \"SCROLL\", \"VALUE\": \"DOWN\"}", "p", 1).Value);

        WebDecision mark = MagmaWebPolicy.ReadAction(obs, $"Coordinate: (0.01, 0.01). Mark: {name}", "p", 1);
        Assert.Equal(name, mark.Mark);

        // A point inside a mark's box resolves to that mark; one outside every mark stays a point click.
        var box = obs.NormalizedBoxes[name];
        WebDecision inside = MagmaWebPolicy.ReadAction(obs, $"({box.Center.X:0.0000}, {box.Center.Y:0.0000})", "p", 1);
        Assert.Equal(name, inside.Mark);
        WebDecision outside = MagmaWebPolicy.ReadAction(obs, "(0.95, 0.95)", "p", 1);
        Assert.Null(outside.Mark);
        Assert.Equal(WebDecisionKind.Click, outside.Kind);
        Assert.Equal(760, outside.Point!.Value.X, 1);
    }

    [Fact]
    public async Task Trace_outcome_shows_the_effect_not_the_action_again_and_history_lines_are_single_spaced()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("form.html"));
        WebObservation obs = await session.ObserveAsync();
        WebMark name = obs.Marks.Single(m => m.Name == "Name");
        WebDecision type = MagmaWebPolicy.ReadAction(obs, $"{{\"ACTION\": \"TYPE\", \"MARK\": {name.Id}, \"VALUE\": \"Ada\"}}", "p", 1);
        string typed = (await session.TypeAsync(obs.Id, name.Id, "Ada")).ToString();
        WebDecision invalid = MagmaWebPolicy.ReadAction(obs, "zzzzzzzz", "p", 1);

        var typeStep = new Trace.WebTraceStep { Index = 0, Observation = obs, Decision = type, Outcome = typed };
        Assert.Contains(name.Describe() + ": ", typed, StringComparison.Ordinal);
        Assert.Equal(typed[(typed.IndexOf(name.Describe() + ": ", StringComparison.Ordinal) + name.Describe().Length + 2)..], Trace.WebTrace.Effect(typeStep));
        Assert.DoesNotContain(name.Describe(), Trace.WebTrace.Effect(typeStep), StringComparison.Ordinal);
        var invalidStep = new Trace.WebTraceStep { Index = 1, Observation = obs, Decision = invalid, Outcome = $"invalid answer: {invalid.Note}" };
        Assert.Equal("no action taken", Trace.WebTrace.Effect(invalidStep));

        Assert.Equal($"[{name.Role}] Name -> TYPE Ada ({typed})", MagmaWebPolicy.HistoryLine(name.Role, name.Name, type, typed));
        Assert.Equal("[page] -> INVALID (invalid answer: x)", MagmaWebPolicy.HistoryLine(null, null, invalid, "invalid answer: x"));
        Assert.Equal("[button] -> CLICK (c)", MagmaWebPolicy.HistoryLine("button", "", invalid with { Kind = WebDecisionKind.Click }, "c"));
    }

    [Fact]
    public async Task Tiny_model_grounds_and_do_task_writes_a_complete_trace()
    {
        using MagmaModel model = MagmaModel.Load(TinyModel);
        await using WebSession session = await Pages.LaunchAsync();
        string traceRoot = Path.Combine(Path.GetTempPath(), "magma-web-trace-" + Guid.NewGuid().ToString("N"));
        var plugin = new WebPlugin(session, model) { TraceRoot = traceRoot };
        Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
        kernel.Plugins.AddFromObject(plugin, plugin.Name);
        // The tiny model's choices are noise: refuse anything irreversible so the page is never submitted.
        kernel.FunctionInvocationFilters.Add(new WebConfirmationFilter(plugin, (_, _) => Task.FromResult(false)));

        await session.OpenAsync(Pages.Url("form.html"));
        WebObservation obs = await session.ObserveAsync();
        WebGrounding g = await new MagmaWebPolicy(model).GroundAsync(obs, "the Name field");
        Assert.Contains("\"the Name field\"", g.Prompt, StringComparison.Ordinal);
        Assert.NotNull(g.RawAnswer);
        if (g.Pixel is { } p)
        {
            Assert.InRange(p.X, 0, obs.Marked.Width);
        }
        else
        {
            Assert.False(string.IsNullOrEmpty(g.Note));
        }

        string result = (await kernel.InvokeAsync(plugin.Name, "do_task", new KernelArguments { ["goal"] = "Sign up as Ada", ["max_steps"] = 2 })).GetValue<string>()!;
        Assert.Contains("trace: ", result, StringComparison.Ordinal);
        WebTraceCheck(plugin, traceRoot);
        Directory.Delete(traceRoot, recursive: true);
    }

    private static void WebTraceCheck(WebPlugin plugin, string root)
    {
        var trace = plugin.LastTrace!;
        Assert.StartsWith(root, trace.Folder, StringComparison.Ordinal);
        Assert.InRange(trace.Steps.Count, 1, 2);
        string index = File.ReadAllText(Path.Combine(trace.Folder, "index.html"));
        Assert.Contains("Sign up as Ada", index, StringComparison.Ordinal);
        // Long unbroken answers wrap inside their cell.
        Assert.Contains("overflow-wrap:anywhere", index, StringComparison.Ordinal);
        Assert.DoesNotContain("running", trace.Status, StringComparison.Ordinal);
        foreach (var step in trace.Steps)
        {
            string dir = Path.Combine(trace.Folder, $"step-{step.Index:000}");
            foreach (string f in new[] { "clean.png", "marked.png", "marks.json", "prompt.txt", "answer.txt", "step.json" })
            {
                Assert.True(File.Exists(Path.Combine(dir, f)), $"{dir}/{f} missing");
            }

            Assert.Contains($"step-{step.Index:000}/marked.png", index, StringComparison.Ordinal);
            Assert.Contains("Candidates:", File.ReadAllText(Path.Combine(dir, "prompt.txt")), StringComparison.Ordinal);
            Assert.Contains("\"model\"", File.ReadAllText(Path.Combine(dir, "step.json")), StringComparison.Ordinal);
        }
    }
}
