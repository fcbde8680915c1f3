using System.Text.Json;
using System.Text.RegularExpressions;
using Magma.Plugins.Web.Browser;

namespace Magma.Plugins.Web.Evaluation;

/// <summary>
/// MiniWoB++ through its page protocol: <c>Math.seedrandom(seed)</c>, a long <c>core.EPISODE_MAX_TIME</c> (so model
/// time does not end the episode), <c>core.startEpisodeReal()</c>, wait for <c>WOB_TASK_READY</c>, goal from
/// <c>core.getUtterance()</c>, reward from <c>WOB_RAW_REWARD_GLOBAL</c> once <c>WOB_DONE_GLOBAL</c>. The checkout's
/// <c>miniwob/html</c> folder is served under <c>http://miniwob.test</c> (its files are not part of this repository).
/// Development uses only the tasks below (<see cref="DevelopmentTasks"/>); others are kept for independent evaluation.
/// </summary>
/// <param name="htmlFolder">The checkout's <c>miniwob/html</c> folder.</param>
/// <param name="tasks">Tasks to run; null for the development tasks.</param>
public sealed partial class MiniWobSource(string htmlFolder, IReadOnlyList<string>? tasks = null) : ITaskSource
{
    internal const string Origin = "http://miniwob.test";

    internal static readonly string[] DevelopmentTasks =
    [
        "click-button", "click-link", "enter-text", "click-dialog", "focus-text", "click-checkboxes",
        // Issue 17's set: nested menus, accordions, date pickers, sliders, drag, popups, inboxes, feeds, tables, paging.
        "click-menu-2", "click-collapsible-2", "choose-date", "use-slider", "drag-items", "click-checkboxes-transfer",
        "login-user-popup", "email-inbox-forward-nl", "social-media", "multi-layouts", "book-flight", "click-tab-2-hard",
        "read-table", "form-sequence", "order-food", "phone-book",
    ];

    /// <inheritdoc/>
    public string Name => "miniwob";

    /// <inheritdoc/>
    public IReadOnlyList<string> Tasks { get; } = tasks ?? DevelopmentTasks;

    // MiniWoB's task area is 160x210 CSS px at the top left; DSF 3 makes marks legible (web_agent.md §6.2).
    /// <inheritdoc/>
    public WebSessionOptions SessionOptions => new()
    {
        ViewportWidth = 160,
        ViewportHeight = 210,
        DeviceScaleFactor = 3,
        LocalSites = new Dictionary<string, string> { [Origin] = htmlFolder },
        // The task pages are local and scripted: the gate approves (run with --gate deny to see what it would hold).
        Approve = (_, _) => Task.FromResult(true),
    };

    /// <inheritdoc/>
    public async Task<EpisodeStart> StartAsync(WebSession session, string task, int seed)
    {
        string file = Path.Combine(htmlFolder, "miniwob", task + ".html");
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"MiniWoB task \"{task}\" not found at {file}; pass --miniwob <checkout>/miniwob/html.");
        }

        await session.OpenAsync($"{Origin}/miniwob/{task}.html").ConfigureAwait(false);
        await session.Page.EvaluateAsync(
            "(seed) => { Math.seedrandom(seed); core.EPISODE_MAX_TIME = 3600000; core.startEpisodeReal(); }", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await session.Page.WaitForFunctionAsync("() => typeof WOB_TASK_READY === 'undefined' || WOB_TASK_READY").ConfigureAwait(false);

        // The page is wider than the 160 px task area (the reward display sits at x = 165), and a task that focuses an
        // element on start (click-dialog's jQuery UI dialog focuses its close button) scrolls the window sideways so
        // the whole task is out of view. MiniWoB's own runner has a wide window and never sees this; put it back.
        await session.Page.EvaluateAsync("() => window.scrollTo(0, 0)").ConfigureAwait(false);
        string goal = await session.Page.EvaluateAsync<string>(
            "() => { const u = core.getUtterance(); return typeof u === 'object' ? u.utterance : u; }").ConfigureAwait(false);
        return new EpisodeStart(goal, Oracle(task, goal), MiniWobOracles.Script(task, goal));
    }

    /// <inheritdoc/>
    public async Task<double?> RewardAsync(WebSession session)
    {
        JsonElement r = await session.Page.EvaluateAsync<JsonElement>("() => [WOB_DONE_GLOBAL, WOB_RAW_REWARD_GLOBAL]").ConfigureAwait(false);
        return r[0].GetBoolean() ? r[1].GetDouble() : null;
    }

    /// <inheritdoc/>
    public bool IsSuccess(double reward) => reward >= 1;

    /// <summary>Scripted oracles for the development tasks, read from the utterance; they still act through the marks.</summary>
    internal static IReadOnlyList<OracleStep>? Oracle(string task, string goal)
    {
        string[] quoted = [.. Quoted().Matches(goal).Select(m => m.Groups[1].Value)];
        switch (task)
        {
            case "click-button" when quoted.Length == 1:
                return [new("click", quoted[0], "button", null)];
            // The "links" are <span class="alink"> with d3 click handlers (role generic, not link); every span with the
            // asked text is rewarded.
            case "click-link" when quoted.Length == 1:
                return [new("click", quoted[0], null, null)];
            case "enter-text" when quoted.Length == 1:
                return [new("type", "", "textbox", quoted[0]), new("click", "Submit", null, null)];
            case "click-dialog":
                // jQuery UI's title-bar close button: an icon with the text "Close" (title "Close").
                return [new("click", "/^(close|×|x)$/", "button", null)];
            case "focus-text":
                return [new("click", "", "textbox", null)];
            case "click-checkboxes" or "click-checkboxes-transfer":
            {
                Match m = Select().Match(goal);
                var steps = new List<OracleStep>();
                if (m.Success && !m.Groups[1].Value.Trim().Equals("nothing", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (string word in m.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        steps.Add(new("click", word, "checkbox", null));
                    }
                }

                steps.Add(new("click", "Submit", null, null));
                return steps;
            }

            default:
                return null;
        }
    }

    [GeneratedRegex("\"([^\"]*)\"")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"Select (.*?) and click Submit", RegexOptions.IgnoreCase)]
    private static partial Regex Select();
}
