using Microsoft.SemanticKernel;
using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Tests;

/// <summary>Nested controls, names, states and the actions real pages need, on local pages in a real Chromium.</summary>
public sealed class WidgetTests
{
    private static WebMark One(WebObservation obs, string name, string? role = null)
    {
        var found = obs.Marks.Where(m => m.Name == name && (role is null || m.Role == role)).ToList();
        return found.Count == 1 ? found[0] : throw new Xunit.Sdk.XunitException($"{found.Count} marks \"{name}\" in:\n{obs.MarkList()}");
    }

    private static Task<string> Log(WebSession s) => s.Page.EvaluateAsync<string>("() => window.LOG.join('|')");

    [Fact]
    public async Task Nested_controls_get_their_own_marks_and_clicks_reach_them()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("tree.html"));
        WebObservation obs = await session.ObserveAsync();

        // An ARIA tree: the open folder's files are marks of their own, and the folder's box is its own row only.
        WebMark docs = One(obs, "📁 Documents", "treeitem"); // the icon's text is part of the name, as in a browser
        WebMark report = One(obs, "report.pdf", "treeitem");
        Assert.Contains("expanded", docs.States);
        Assert.Contains("leaf", report.States);
        Assert.Contains("collapsed", One(obs, "📁 Pictures", "treeitem").States);
        Assert.True(docs.CssBox.Bottom <= report.CssBox.Y + 1, $"the folder's box swallows its files:\n{obs.MarkList()}");

        // A tree without ARIA: pointer cursors everywhere, each row with its own rule or handler.
        One(obs, "▸ Music");
        One(obs, "song.mp3");
        One(obs, "tune.ogg");

        // Icons inside a clickable row, and two actions inside one clickable bar (the bar itself is no target).
        One(obs, "Alice — Lunch on Friday?");
        WebMark star = One(obs, "Star"); // its glyph says less than its title
        One(obs, "Delete");
        One(obs, "Reply");
        WebMark forward = One(obs, "Forward");
        Assert.DoesNotContain(obs.Marks, m => m.Name.Contains("Reply", StringComparison.Ordinal) && m.Name.Contains("Forward", StringComparison.Ordinal));

        // A menu item and the link filling it are one mark; a button whose centre is covered is marked by its corner.
        One(obs, "New");
        One(obs, "Open");
        WebMark corner = One(obs, "Corner");

        await session.ClickAsync(obs.Id, report.Id);
        await session.ClickAsync(obs.Id, One(obs, "song.mp3").Id);
        await session.ClickAsync(obs.Id, star.Id);
        await session.ClickAsync(obs.Id, forward.Id);
        await session.ClickAsync(obs.Id, One(obs, "Open").Id);
        await session.ClickAsync(obs.Id, corner.Id);
        Assert.Equal("tree report.pdf|file song.mp3|star|bar Forward|menu Open|corner", await Log(session));
    }

    [Fact]
    public async Task Names_follow_the_browser_rules_and_guesses_are_flagged()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("names.html"));
        WebObservation obs = await session.ObserveAsync();
        (string Name, string From)[] expected =
        [
            ("Email address", "label"), ("Your city", "label"), ("Promo code", "labelledby"), ("Search the site", "aria-label"),
            ("Phone number", "title"), ("Postcode", "placeholder"), ("Send message", "alt"), ("Trash", "content"), ("Star", "content"),
            ("Username", "nearby"), ("Remember me", "nearby"), ("Pizza size", "label"), ("Increase", "title"),
        ];
        Assert.True(expected.Length == obs.Marks.Count, obs.MarkList());
        foreach ((string name, string from) in expected)
        {
            WebMark m = One(obs, name);
            Assert.True(from == m.NameFrom, $"{name}: from {m.NameFrom}, expected {from}");
        }

        Assert.StartsWith("[", One(obs, "Username").Describe(), StringComparison.Ordinal);
        Assert.Contains("] textbox (nearby text): Username", One(obs, "Username").Describe(), StringComparison.Ordinal);
        Assert.Contains("] textbox: Email address", One(obs, "Email address").Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task States_and_options_are_in_the_marks()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.Contains("multiline", One(obs, "Notes").States);
        Assert.Contains("disabled", One(obs, "Locked").States);
        Assert.Contains("collapsed", One(obs, "More info").States);
        WebMark toppings = One(obs, "Toppings");
        Assert.Equal("listbox", toppings.Role);
        Assert.Contains("multiselectable", toppings.States);
        Assert.Equal(["Ham", "Olives", "Onion"], toppings.Options!.Select(o => o.Text));
        WebMark volume = One(obs, "Volume");
        Assert.Equal("slider", volume.Role);
        Assert.Equal("5", volume.Value);
        Assert.Contains("max=20", volume.States);
        Assert.Contains("min=2026-01-01", One(obs, "Departure").States);
    }

    [Fact]
    public async Task Dates_times_colours_and_sliders_are_set_and_bad_values_are_explained()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.Equal("2026-12-03", (await session.TypeAsync(obs.Id, One(obs, "Departure").Id, "2026-12-03")).Value);
        Assert.Equal("14:30", (await session.SetValueAsync(obs.Id, One(obs, "Time").Id, "14:30")).Value);
        Assert.Equal("2026-12", (await session.SetValueAsync(obs.Id, One(obs, "Month").Id, "2026-12")).Value);
        Assert.Equal("2026-W49", (await session.SetValueAsync(obs.Id, One(obs, "Week").Id, "2026-W49")).Value);
        Assert.Equal("#1e90ff", (await session.SetValueAsync(obs.Id, One(obs, "Colour").Id, "#1E90FF")).Value);
        WebEffect slid = await session.SetValueAsync(obs.Id, One(obs, "Volume").Id, "12");
        Assert.Equal("12", slid.Value);
        Assert.Equal(7, await session.Page.EvaluateAsync<int>("() => window.INPUTS")); // seven key presses, one step each
        Assert.Contains("d=2026-12-03", await Log(session), StringComparison.Ordinal);

        var bad = await Assert.ThrowsAsync<WebActionException>(() => session.SetValueAsync(obs.Id, One(obs, "Departure").Id, "03/12/2026"));
        Assert.Contains("YYYY-MM-DD", bad.Message, StringComparison.Ordinal);
        var early = await Assert.ThrowsAsync<WebActionException>(() => session.SetValueAsync(obs.Id, One(obs, "Departure").Id, "2025-05-01"));
        Assert.Contains("earliest", early.Message, StringComparison.Ordinal);
        var off = await Assert.ThrowsAsync<WebActionException>(() => session.SetValueAsync(obs.Id, One(obs, "Volume").Id, "30"));
        Assert.Contains("0..20", off.Message, StringComparison.Ordinal);
        Assert.Equal("2026-12-03", await session.Page.EvaluateAsync<string>("() => document.getElementById('d').value"));
    }

    [Fact]
    public async Task Sliders_without_an_input_are_sliders_with_values_and_set_value_moves_them_by_keyboard()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("slider.html"));
        WebObservation obs = await session.ObserveAsync();

        // jQuery UI's handle (no ARIA, no jQuery here): a slider whose value is its position along the track.
        WebMark volume = One(obs, "Volume", "slider"), height = One(obs, "Height", "slider"), rating = One(obs, "Rating", "slider");
        Assert.Equal("40%", volume.Value);
        Assert.Equal("50%", height.Value);
        Assert.Contains("vertical", height.States);
        Assert.Equal("3", rating.Value);
        Assert.Contains("min=0", rating.States);
        Assert.Contains("max=10", rating.States);

        await Assert.ThrowsAsync<WebActionException>(() => session.SetValueAsync(obs.Id, rating.Id, "11"));
        await Assert.ThrowsAsync<WebActionException>(() => session.SetValueAsync(obs.Id, rating.Id, "50%"));
        await Assert.ThrowsAsync<WebActionException>(() => session.SetValueAsync(obs.Id, volume.Id, "loud"));

        WebEffect v = await session.SetValueAsync(obs.Id, volume.Id, "70%");
        Assert.Equal("70%", v.Value);
        Assert.Equal(35, await session.Page.EvaluateAsync<int>("() => VOLUME()"));
        WebEffect r = await session.SetValueAsync(obs.Id, rating.Id, "7");
        Assert.Equal("7", r.Value);
        Assert.Equal(7, await session.Page.EvaluateAsync<int>("() => RATING()"));
        await session.TypeAsync(obs.Id, height.Id, "20%");
        Assert.Equal(2, await session.Page.EvaluateAsync<int>("() => HEIGHT()"));
    }

    [Fact]
    public async Task Multi_select_adds_and_removes_options_keeping_the_others()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        int list = One(obs, "Toppings").Id;
        await session.SelectAsync(obs.Id, list, "Ham", WebSelectMode.Add);
        Assert.Equal("Ham, Onion", (await session.SelectAsync(obs.Id, list, "Onion", WebSelectMode.Add)).Value);
        Assert.Equal("Onion", (await session.SelectAsync(obs.Id, list, "Ham", WebSelectMode.Remove)).Value);
        Assert.Equal("Olives", (await session.SelectAsync(obs.Id, list, "Olives")).Value);
        WebMark after = One(await session.ObserveAsync(), "Toppings");
        Assert.Equal([false, true, false], after.Options!.Select(o => o.Selected));
        Assert.EndsWith(" | options: Ham, Olives*, Onion", after.Describe(), StringComparison.Ordinal);

        WebObservation again = await session.ObserveAsync();
        var single = await Assert.ThrowsAsync<WebActionException>(() => session.SelectAsync(again.Id, One(again, "Departure").Id, "x", WebSelectMode.Add));
        Assert.Contains("<select>", single.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hover_opens_menus_that_open_on_hover()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.DoesNotContain(obs.Marks, m => m.Name == "Settings");
        WebEffect hovered = await session.HoverAsync(obs.Id, One(obs, "More ▾").Id);
        Assert.StartsWith("hover [", hovered.Action, StringComparison.Ordinal);
        WebObservation open = await session.ObserveAsync();
        await session.ClickAsync(open.Id, One(open, "Settings").Id);
        Assert.Equal("settings", await Log(session));

        WebObservation next = await session.ObserveAsync();
        WebEffect js = await session.HoverAsync(next.Id, One(next, "Profile").Id);
        Assert.True(js.Mutations > 0, js.ToString());
        One(await session.ObserveAsync(), "Account page");
    }

    [Fact]
    public async Task Drag_and_drop_to_a_mark_and_to_a_point_double_click_and_wait()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        WebMark chip = One(obs, "Chip"), bin = One(obs, "Bin");
        MarkBoxCentre home = new(chip.PixelBox.X + 4, chip.PixelBox.Y + 4);
        await Assert.ThrowsAsync<WebActionException>(() => session.DragAsync(obs.Id, chip.Id, chip.Id));
        WebEffect dropped = await session.DragAsync(obs.Id, chip.Id, bin.Id);
        Assert.True(dropped.Mutations > 0, dropped.ToString());
        Assert.Equal("dropped in b", await Log(session));

        WebObservation moved = await session.ObserveAsync();
        await session.DragToPointAsync(moved.Id, One(moved, "Chip").Id, home.X, home.Y);
        Assert.EndsWith("dropped in a", await Log(session), StringComparison.Ordinal);

        WebObservation dbl = await session.ObserveAsync();
        await session.DoubleClickAsync(dbl.Id, One(dbl, "Double me").Id);
        Assert.EndsWith("double", await Log(session), StringComparison.Ordinal);

        // What a wait reports depends on what the page does meanwhile (under load the double-click's handlers can still
        // be landing), so only its own report is asserted here; the bounds are the contract.
        Assert.StartsWith("wait 0 ms", (await session.WaitAsync(0)).Action, StringComparison.Ordinal);
        await Assert.ThrowsAsync<WebActionException>(() => session.WaitAsync(WebSession.MaxWaitMilliseconds + 1));
        await Assert.ThrowsAsync<WebActionException>(() => session.WaitAsync(-5));
    }

    private readonly record struct MarkBoxCentre(float X, float Y);

    [Fact]
    public async Task An_autocomplete_that_answers_after_300_ms_is_settled_for()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        WebEffect typed = await session.TypeAsync(obs.Id, One(obs, "City").Id, "Nor");
        Assert.True(typed.Mutations > 0, typed.ToString());
        WebObservation after = await session.ObserveAsync();
        await session.ClickAsync(after.Id, One(after, "Norway").Id);
        Assert.Equal("picked Norway", await Log(session));
    }

    [Fact]
    public async Task Scrolling_a_container_reports_that_its_content_moved()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        WebEffect down = await session.ScrollAsync("down", obs.Id, One(obs, "Numbers").Id);
        Assert.True(down.Scrolled > 0, down.ToString());
        Assert.Equal("div", down.ScrolledContainer);
        Assert.False(down.NothingChanged);
        Assert.Contains("scrolled the div down by", down.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>The new actions go through the same approval gate as click and type (no approver: the gate refuses).</summary>
public sealed class GatedActionTests
{
    private static WebMark One(WebObservation obs, string name) =>
        obs.Marks.SingleOrDefault(m => m.Name == name) ?? throw new Xunit.Sdk.XunitException($"no mark \"{name}\" in:\n{obs.MarkList()}");

    [Fact]
    public async Task Double_click_drag_hover_and_set_value_are_judged_by_the_acting_elements_names()
    {
        await using WebSession session = await Pages.LaunchAsync();
        session.Approver = null; // the task pages' default approver says yes; this test needs the gate to refuse
        await session.OpenAsync(Pages.Url("gated.html"));
        WebObservation obs = await session.ObserveAsync();

        // Activations named as irreversible are asked about first: refused, nothing happens.
        WebEffect dbl = await session.DoubleClickAsync(obs.Id, One(obs, "Delete message").Id);
        Assert.Contains(dbl.Refused, r => r.Contains("Delete message", StringComparison.Ordinal));
        WebEffect drag = await session.DragAsync(obs.Id, One(obs, "Invoice").Id, One(obs, "Delete forever").Id);
        Assert.Contains(drag.Refused, r => r.Contains("Delete forever", StringComparison.Ordinal));

        // A point (a model's click outside every mark, a drop point) is judged by the names of what is under it.
        Magma.Tasks.Marks.MarkBox msg = One(obs, "Delete message").PixelBox, bin = One(obs, "Delete forever").PixelBox;
        WebEffect point = await session.ClickPointAsync(obs.Id, msg.X + (msg.Width / 2), msg.Y + (msg.Height / 2));
        Assert.Contains(point.Refused, r => r.Contains("Delete message", StringComparison.Ordinal));
        WebEffect toPoint = await session.DragToPointAsync(obs.Id, One(obs, "Invoice").Id, bin.X + (bin.Width / 2), bin.Y + (bin.Height / 2));
        Assert.Contains(toPoint.Refused, r => r.Contains("Delete forever", StringComparison.Ordinal));
        Assert.False(await session.Page.EvaluateAsync<bool>("() => window.DELETED"));

        // Hovering activates nothing, so it happens; the request it sets off is judged with the element's name.
        WebEffect hover = await session.HoverAsync(obs.Id, One(obs, "Remove preview").Id);
        Assert.True(await session.Page.EvaluateAsync<bool>("() => window.HOVERED"));
        Assert.Contains(hover.Refused, r => r.Contains("/api/preview", StringComparison.Ordinal) && r.Contains("Remove preview", StringComparison.Ordinal));

        // Setting a value likewise: the change handler's request carries the field's name to the gate.
        WebEffect set = await session.SetValueAsync(obs.Id, One(obs, "Post date").Id, "2026-12-24");
        Assert.Equal("2026-12-24", set.Value);
        Assert.Contains(set.Refused, r => r.Contains("/api/schedule", StringComparison.Ordinal));
        Assert.Equal(0, await session.Page.EvaluateAsync<int>("() => window.SENT"));
    }
}

/// <summary>The wider action vocabulary: read from Magma's answers, and run through the kernel by do_task.</summary>
public sealed class VocabularyTests
{
    [Fact]
    public async Task Answers_with_the_new_actions_are_read_and_mistakes_are_invalid()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        WebObservation obs = await session.ObserveAsync();
        Grounding.WebDecision Read(string answer) => Grounding.MagmaWebPolicy.ReadAction(obs, answer, "p", 1);

        Assert.Equal(Grounding.WebDecisionKind.Hover, Read("{\"ACTION\": \"HOVER\", \"MARK\": 1}").Kind);
        Assert.Equal(Grounding.WebDecisionKind.DoubleClick, Read("{\"action\": \"double_click\", \"mark\": \"2\"}").Kind);
        Grounding.WebDecision drag = Read("{\"ACTION\": \"DRAG\", \"MARK\": 1, \"TO\": 3}");
        Assert.Equal((Grounding.WebDecisionKind.Drag, 1, 3), (drag.Kind, drag.Mark, drag.ToMark));
        Grounding.WebDecision point = Read("{\"ACTION\": \"DRAG\", \"MARK\": 1, \"TO\": [0.5, 0.25]}");
        Assert.Equal((400d, 150d), point.ToPoint);
        Assert.Equal("2026-12-03", Read("{\"ACTION\": \"SET_VALUE\", \"MARK\": 4, \"VALUE\": \"2026-12-03\"}").Value);
        Assert.Equal(Grounding.WebDecisionKind.AddOption, Read("{\"ACTION\": \"SELECT\", \"MARK\": 4, \"VALUE\": \"Ham\", \"MODE\": \"add\"}").Kind);
        Assert.Equal(Grounding.WebDecisionKind.RemoveOption, Read("{\"ACTION\": \"REMOVE_OPTION\", \"MARK\": 4, \"VALUE\": \"Ham\"}").Kind);
        Assert.Equal("Escape", Read("{\"ACTION\": \"PRESS\", \"VALUE\": \"Escape\"}").Value);
        Assert.Equal(Grounding.WebDecisionKind.Back, Read("{\"ACTION\": \"BACK\"}").Kind);
        Assert.Equal("500", Read("{\"ACTION\": \"WAIT\", \"VALUE\": 500}").Value);
        // The model's mistakes: no mark, an unknown mark, a wait out of bounds, a drag without a target.
        Assert.Equal(Grounding.WebDecisionKind.Invalid, Read("{\"ACTION\": \"HOVER\"}").Kind);
        Assert.Equal(Grounding.WebDecisionKind.Invalid, Read("{\"ACTION\": \"HOVER\", \"MARK\": 999}").Kind);
        Assert.Equal(Grounding.WebDecisionKind.Invalid, Read("{\"ACTION\": \"WAIT\", \"VALUE\": 99999}").Kind);
        Assert.Equal(Grounding.WebDecisionKind.Invalid, Read("{\"ACTION\": \"DRAG\", \"MARK\": 1}").Kind);
        // Mind2Web's actions still read as before.
        Assert.Equal(Grounding.WebDecisionKind.Select, Read("{\"ACTION\": \"SELECT\", \"MARK\": 4, \"VALUE\": \"Ham\"}").Kind);
    }

    private sealed class Scripted(params Func<WebObservation, Grounding.WebDecision>[] steps) : Grounding.IWebPolicy
    {
        private int _next;

        public Task<Grounding.WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default) =>
            Task.FromResult(_next < steps.Length ? steps[_next++](observation) : new Grounding.WebDecision { Kind = Grounding.WebDecisionKind.Done });
    }

    private static int Id(WebObservation o, string name) => o.Marks.Single(m => m.Name == name).Id;

    [Fact]
    public async Task Do_task_runs_every_new_action_through_the_kernel()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("widgets.html"));
        var policy = new Scripted(
            o => new() { Kind = Grounding.WebDecisionKind.Hover, Mark = Id(o, "More ▾") },
            o => new() { Kind = Grounding.WebDecisionKind.Click, Mark = Id(o, "Settings") },
            o => new() { Kind = Grounding.WebDecisionKind.SetValue, Mark = Id(o, "Departure"), Value = "2026-12-03" },
            o => new() { Kind = Grounding.WebDecisionKind.AddOption, Mark = Id(o, "Toppings"), Value = "Ham" },
            o => new() { Kind = Grounding.WebDecisionKind.AddOption, Mark = Id(o, "Toppings"), Value = "Onion" },
            o => new() { Kind = Grounding.WebDecisionKind.RemoveOption, Mark = Id(o, "Toppings"), Value = "Ham" },
            o => new() { Kind = Grounding.WebDecisionKind.Drag, Mark = Id(o, "Chip"), ToMark = Id(o, "Bin") },
            o => new() { Kind = Grounding.WebDecisionKind.DoubleClick, Mark = Id(o, "Double me") },
            o => new() { Kind = Grounding.WebDecisionKind.Wait, Value = "10" },
            o => new() { Kind = Grounding.WebDecisionKind.Press, Value = "Escape" });
        var plugin = new Kernel.WebPlugin(session, policy: policy);
        Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
        kernel.Plugins.AddFromObject(plugin, plugin.Name);
        string result = await plugin.DoTaskAsync(kernel, "exercise the widgets", 12);
        Assert.StartsWith("done after 11 steps", result, StringComparison.Ordinal);
        Assert.DoesNotContain("ERROR", result, StringComparison.Ordinal);
        Assert.Equal("settings|d=2026-12-03|ms=Ham|ms=Ham|ms=Onion|dropped in b|double",
            await session.Page.EvaluateAsync<string>("() => window.LOG.join('|')"));
    }
}
