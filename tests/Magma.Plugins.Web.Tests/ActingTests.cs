using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Tests;

public sealed class ActingTests
{
    private static WebMark ByName(WebObservation obs, string name) =>
        obs.Marks.SingleOrDefault(m => m.Name == name) ?? throw new Xunit.Sdk.XunitException($"no mark \"{name}\" in:\n{obs.MarkList()}");

    [Fact]
    public async Task Type_select_check_and_submit_report_their_effects()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("form.html"));
        WebObservation obs = await session.ObserveAsync();

        WebEffect typed = await session.TypeAsync(obs.Id, ByName(obs, "Name").Id, "Ada");
        Assert.True(typed.ValueChanged);
        Assert.Equal("Ada", typed.Value);
        Assert.Equal("input#name", typed.Focus);

        // Typing again replaces the content rather than appending.
        WebEffect retyped = await session.TypeAsync(obs.Id, ByName(obs, "Name").Id, "Ada");
        Assert.False(retyped.ValueChanged);
        Assert.Equal("Ada", retyped.Value);

        await session.TypeAsync(obs.Id, ByName(obs, "Email").Id, "ada@example.com");
        WebEffect selected = await session.SelectAsync(obs.Id, ByName(obs, "Country").Id, "norway");
        Assert.Equal("Norway", selected.Value);
        WebEffect radio = await session.ClickAsync(obs.Id, ByName(obs, "Pro plan").Id);
        Assert.True(radio.CheckedChanged);
        WebEffect box = await session.ClickAsync(obs.Id, obs.Marks.Single(m => m.Role == "checkbox").Id);
        Assert.True(box.CheckedChanged);
        Assert.True(box.Checked);
        await Assert.ThrowsAsync<WebActionException>(() => session.SelectAsync(obs.Id, ByName(obs, "Country").Id, "Atlantis"));
        await Assert.ThrowsAsync<WebActionException>(() => session.SelectAsync(obs.Id, ByName(obs, "Name").Id, "Norway"));

        WebEffect submit = await session.ClickAsync(obs.Id, ByName(obs, "Create account").Id);
        Assert.True(submit.Mutations > 0);
        Assert.Equal(1, await session.Page.EvaluateAsync<int>("() => window.REWARD"));
    }

    [Fact]
    public async Task Stale_observations_moved_and_covered_targets_are_refused_and_nothing_is_clicked()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("dialog.html"));
        WebObservation first = await session.ObserveAsync();
        WebObservation second = await session.ObserveAsync();
        int reset = ByName(first, "Reset preferences").Id;
        var stale = await Assert.ThrowsAsync<WebStaleObservationException>(() => session.ClickAsync(first.Id, reset));
        Assert.Contains("observe", stale.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<WebActionException>(() => session.ClickAsync(second.Id, 99));

        // Covered since the observation: the modal opened by script.
        await session.Page.EvaluateAsync("() => { document.getElementById('ov').style.display = 'block'; }");
        var covered = await Assert.ThrowsAsync<WebStaleObservationException>(() => session.ClickAsync(second.Id, reset));
        Assert.Contains("covered", covered.Message, StringComparison.Ordinal);
        Assert.Equal(0, await session.Page.EvaluateAsync<int>("() => window.REWARD"));

        // Moved since the observation.
        WebObservation third = await session.ObserveAsync();
        await session.Page.EvaluateAsync("() => { document.getElementById('ok').style.marginLeft = '60px'; }");
        var moved = await Assert.ThrowsAsync<WebStaleObservationException>(() => session.ClickAsync(third.Id, ByName(third, "OK").Id));
        Assert.Contains("moved", moved.Message, StringComparison.Ordinal);
        Assert.Equal(0, await session.Page.EvaluateAsync<int>("() => window.REWARD"));

        // A page load invalidates the marks.
        await session.OpenAsync(Pages.Url("menu.html"));
        Assert.Null(session.Current);
        await Assert.ThrowsAsync<WebStaleObservationException>(() => session.ClickAsync(third.Id, 0));
    }

    [Fact]
    public async Task Scrolling_the_page_and_a_container_brings_new_marks()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("scroll.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.DoesNotContain(obs.Marks, m => m.Name == "Row 6");
        WebEffect inner = await session.ScrollAsync("down", obs.Id, ByName(obs, "Row 1").Id);
        Assert.Contains("Row 6", (await session.ObserveAsync()).MarkList(), StringComparison.Ordinal);
        Assert.Equal(0, await session.Page.EvaluateAsync<int>("() => window.scrollY"));
        Assert.Equal("scroll down at [0] generic: Row 1", inner.Action);

        for (int i = 0; i < 10 && !(obs = await session.ObserveAsync()).Marks.Any(m => m.Name == "Item 42"); i++)
        {
            await session.ScrollAsync("down");
        }

        await session.ClickAsync(obs.Id, ByName(obs, "Item 42").Id);
        Assert.Equal(1, await session.Page.EvaluateAsync<int>("() => window.REWARD"));
    }

    [Fact]
    public async Task A_click_after_a_container_scroll_waits_for_a_hover_that_re_renders_its_target()
    {
        // social-media's icons swap their picture on :hover and are 0 px wide until it arrives; a press sent at once
        // landed on the bar around them ("the click did nothing"). The press waits until the target is back under it.
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("feed.html"));
        WebObservation obs = await session.ObserveAsync();
        WebEffect down = await session.ScrollAsync("down", obs.Id, obs.Marks.First(m => m.Name == "reply").Id);
        Assert.True(down.Scrolled > 0, down.ToString());
        WebObservation scrolled = await session.ObserveAsync();
        WebMark like = scrolled.Marks.Where(m => m.Name == "like").OrderBy(m => m.CssBox.Y).Last();
        await session.ClickAsync(scrolled.Id, like.Id);
        WebObservation again = await session.ObserveAsync();
        await session.ClickAsync(again.Id, again.Marks.Single(m => m.Name == "reply" && Math.Abs(m.CssBox.Y - like.CssBox.Y) < 4).Id);
        string log = await session.Page.EvaluateAsync<string>("() => LOG.join('|')");
        Assert.Matches("^like @user[2-6]\\|reply @user[2-6]$", log);
        Assert.Equal(log.Split('|')[0][5..], log.Split('|')[1][6..]);
    }

    [Fact]
    public async Task A_new_tab_becomes_the_active_page_and_is_reported()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("popup.html"));
        WebObservation obs = await session.ObserveAsync();
        WebEffect effect = await session.ClickAsync(obs.Id, ByName(obs, "Open help").Id);
        Assert.EndsWith("popup-help.html", effect.NewPage, StringComparison.Ordinal);
        Assert.EndsWith("popup-help.html", session.Page.Url, StringComparison.Ordinal);
        Assert.Null(session.Current);
        WebObservation help = await session.ObserveAsync();
        await session.ClickAsync(help.Id, ByName(help, "Got it").Id);
        Assert.Equal(1, await session.Page.EvaluateAsync<int>("() => window.REWARD"));
    }
}
