using Magma.Inference.Imaging;
using Magma.Plugins.Web.Evaluation;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Marks;

namespace Magma.Plugins.Web.Tests;

/// <summary>The scripted oracle's coroutine and what its view reads, on hand-made observations (no browser).</summary>
public sealed class ScriptedOracleTests
{
    private static WebObservation Obs(string id, string[] texts, params (string Name, string Role)[] marks)
    {
        var image = RgbImage.FromPixels(4, 4, new byte[4 * 4 * 3]);
        var box = new MarkBox(0, 0, 1, 1);
        WebMark[] m = [.. marks.Select((x, i) => new WebMark { Id = i, Role = x.Role, Name = x.Name, Tag = "div", CssBox = box, PixelBox = box })];
        WebText[] t = [.. texts.Select((x, i) => new WebText(x, new MarkBox(0, i * 10, 50, 10)))];
        return new WebObservation(id, "http://x.test/", "x", 4, 4, 1, image, image, m, [], new ObserveTimings(0, 0, 0), t);
    }

    [Fact]
    public void Page_text_leaves_out_the_runs_that_spell_the_goal_even_when_the_page_repeats_a_goal_word()
    {
        var view = new OracleView
        {
            Goal = "Enter the value of Language into the text field.",
            Obs = Obs("o1", ["Enter the value of", "Language", "into the text field.", "Language", "Bengali"]),
        };
        Assert.Equal(["Language", "Bengali"], view.PageTexts.Select(t => t.Text));
        Assert.Equal(30, view.Text("Language")!.CssBox.Y); // the table's, not the goal's

        // A page whose leading text does not spell the goal keeps all its text.
        view.Obs = Obs("o2", ["Menu", "Language"]);
        Assert.Equal(2, view.PageTexts.Count());
    }

    [Fact]
    public async Task The_script_resumes_on_the_next_observation_and_ends_with_done()
    {
        static IEnumerable<WebDecision> Script(OracleView v)
        {
            yield return OracleView.Click(v.Mark("Open", "button"), "Open");
            yield return OracleView.Click(v.Mark("/^sav/", "menuitem"), "Save"); // reads the new observation
            yield return OracleView.Click(v.Mark("Missing"), "Missing");
        }

        var oracle = new ScriptedOracle(Script);
        WebDecision first = await oracle.DecideAsync(Obs("o1", [], ("Open", "button")), "goal", []);
        WebDecision second = await oracle.DecideAsync(Obs("o2", [], ("Open", "button"), ("Save file", "menuitem")), "goal", []);
        WebDecision third = await oracle.DecideAsync(Obs("o3", []), "goal", []);
        WebDecision fourth = await oracle.DecideAsync(Obs("o4", []), "goal", []);
        Assert.Equal((WebDecisionKind.Click, 0), (first.Kind, first.Mark));
        Assert.Equal((WebDecisionKind.Click, 1), (second.Kind, second.Mark));
        Assert.Equal(WebDecisionKind.Invalid, third.Kind);
        Assert.Contains("Missing", third.Note, StringComparison.Ordinal);
        Assert.Equal(WebDecisionKind.Done, fourth.Kind);
    }
}
