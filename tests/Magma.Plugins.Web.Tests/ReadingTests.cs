using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Tests;

/// <summary>What an observation lets a policy read (visible text, image alts) and the marks real pages need besides.</summary>
public sealed class ReadingTests
{
    [Fact]
    public async Task Visible_text_is_read_with_boxes_and_hidden_covered_or_far_text_is_not()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("reading.html"));
        WebObservation obs = await session.ObserveAsync();
        string all = string.Join(" | ", obs.Texts.Select(t => t.Text));

        foreach (string seen in new[] { "Colour", "Teal", "Year", "1987", "Tab one", "Alpha", "Delta" })
        {
            Assert.True(obs.Texts.Any(t => t.Text == seen), $"\"{seen}\" not read: {all}");
        }

        foreach (string unseen in new[] { "Hidden words", "Invisible words", "Covered words", "Far below" })
        {
            Assert.False(obs.Texts.Any(t => t.Text == unseen), $"\"{unseen}\" read: {all}");
        }

        // A table row reads left to right on one line; the image's alt is flagged as an image.
        WebText colour = obs.Texts.Single(t => t.Text == "Colour"), teal = obs.Texts.Single(t => t.Text == "Teal");
        Assert.True(Math.Abs(colour.CssBox.Y - teal.CssBox.Y) < 4 && teal.CssBox.X > colour.CssBox.Right, $"{colour} / {teal}");
        Assert.True(obs.Texts.Single(t => t.Text == "vegan").IsImage);
        Assert.False(colour.IsImage);
    }

    [Fact]
    public async Task Reading_text_can_be_turned_off()
    {
        await using WebSession session = await WebSession.LaunchAsync(new WebSessionOptions
        {
            ViewportWidth = 800,
            ViewportHeight = 600,
            ReadText = false,
            LocalSites = new Dictionary<string, string> { [Pages.Origin] = Pages.Folder },
            Approve = (_, _) => Task.FromResult(true),
        });
        await session.OpenAsync(Pages.Url("reading.html"));
        WebObservation obs = await session.ObserveAsync();
        Assert.Empty(obs.Texts);
        Assert.NotEmpty(obs.Marks);
    }

    [Fact]
    public async Task Icons_presentational_links_and_items_of_a_listened_list_are_marked_and_named()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("reading.html"));
        WebObservation obs = await session.ObserveAsync();

        // An icon nothing names is named, as a guess, by the words of its classes.
        WebMark trash = Assert.Single(obs.Marks, m => m.Name == "trash");
        Assert.Equal("attribute", trash.NameFrom);
        Assert.True(trash.NameGuessed);

        // A focusable element keeps its role under role=presentation, and with it its name from content.
        WebMark tab = Assert.Single(obs.Marks, m => m.Name == "Tab one");
        Assert.Equal("link", tab.Role);

        // The list's listener makes its items the targets, though the list is too big to be a control itself.
        string[] items = ["Alpha", "Beta", "Gamma", "Delta"];
        Assert.True(items.All(i => obs.Marks.Count(m => m.Name == i) == 1), obs.MarkList());
        await session.ClickAsync(obs.Id, obs.Marks.Single(m => m.Name == "Beta").Id);
        await session.ClickAsync(obs.Id, trash.Id);
        Assert.Equal("down Beta|trash", await session.Page.EvaluateAsync<string>("() => LOG.join('|')"));
    }
}

/// <summary>Clicks delegated to a container that is not a list: its repeated items are marked, page-level listeners mark nothing.</summary>
public sealed class DelegationTests
{
    [Fact]
    public async Task Rows_cards_and_tools_of_a_listening_container_are_marked_and_reached_and_nothing_else_is()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("delegation.html"));
        WebObservation obs = await session.ObserveAsync();
        string list = obs.MarkList();

        // Targets: body rows of a table whose listener is on the div around it, cards (data-id) of a listening grid, tools
        // (:hover style) of a listening toolbar.
        foreach (string name in new[] { "A-1 $5", "A-2 $7", "A-3 $9", "Teapot £12", "Kettle £30", "Mug £4", "Bold", "Italic", "Underline" })
        {
            Assert.True(obs.Marks.Count(m => m.Name == name) == 1, $"\"{name}\" not marked once:\n{list}");
        }

        // Not targets: the header row, cells, the cards' parts, repeated notes that nothing says are targets, entries and
        // panels under the page's root listener, and the containers whose listener serves their items.
        foreach (string name in new[] { "Order Total", "A-1", "$5", "Teapot", "£12", "First note", "Entry one", "Entry two", "Orders" })
        {
            Assert.False(obs.Marks.Any(m => m.Name == name), $"\"{name}\" marked:\n{list}");
        }

        Assert.DoesNotContain(obs.Marks, m => m.Name.StartsWith("A-1 $5 A-2", StringComparison.Ordinal) || m.Name.StartsWith("Teapot £12 Kettle", StringComparison.Ordinal)
            || m.Name.StartsWith("Bold Italic", StringComparison.Ordinal) || m.Name.StartsWith("Orders", StringComparison.Ordinal));

        await session.ClickAsync(obs.Id, obs.Marks.Single(m => m.Name == "A-2 $7").Id);
        await session.ClickAsync(obs.Id, obs.Marks.Single(m => m.Name == "Mug £4").Id);
        await session.ClickAsync(obs.Id, obs.Marks.Single(m => m.Name == "Italic").Id);
        Assert.Equal("row A-2|card mug|tool Italic", await session.Page.EvaluateAsync<string>("() => LOG.join('|')"));
    }
}

/// <summary>Settling waits for the timers an action sets inside a same-origin frame.</summary>
public sealed class FrameSettleTests
{
    [Fact]
    public async Task A_timer_set_inside_an_iframe_is_settled_for()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await session.OpenAsync(Pages.Url("frame-timer.html"));
        WebObservation obs = await session.ObserveAsync();
        WebMark load = Assert.Single(obs.Marks, m => m.Name == "Load");
        Assert.Equal("#inner", load.FramePath);

        // The frame's answer comes 400 ms after the click, well past the 150 ms quiet window: it is there at once.
        await session.ClickAsync(obs.Id, load.Id);
        WebObservation after = await session.ObserveAsync();
        Assert.True(after.Marks.Any(m => m.Name == "Loaded"), after.MarkList());
    }
}
