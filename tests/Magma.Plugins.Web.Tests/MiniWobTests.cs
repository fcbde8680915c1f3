using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Evaluation;

namespace Magma.Plugins.Web.Tests;

/// <summary>
/// A fact that runs only when <c>MAGMA_MINIWOB</c> points at a MiniWoB++ checkout (its files are not ours to commit, so
/// CI has none); otherwise it is reported as skipped with the reason.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MiniWobFactAttribute : FactAttribute
{
    public MiniWobFactAttribute()
    {
        if (MiniWob.HtmlFolder is null)
        {
            Skip = "MAGMA_MINIWOB is not set to a MiniWoB++ checkout (github.com/Farama-Foundation/miniwob-plusplus; "
                + "the folder holding miniwob/html, or miniwob/html itself); CI has none.";
        }
    }
}

internal static class MiniWob
{
    /// <summary>The checkout's <c>miniwob/html</c> folder, from <c>MAGMA_MINIWOB</c> (checkout root or that folder).</summary>
    public static string? HtmlFolder
    {
        get
        {
            string? root = Environment.GetEnvironmentVariable("MAGMA_MINIWOB");
            if (string.IsNullOrWhiteSpace(root))
            {
                return null;
            }

            foreach (string candidate in new[] { Path.Combine(root, "miniwob", "html"), root })
            {
                if (File.Exists(Path.Combine(candidate, "miniwob", "click-button.html")))
                {
                    return Path.GetFullPath(candidate);
                }
            }

            // Set but wrong: fail loudly rather than skip, so a mistyped path is noticed.
            throw new DirectoryNotFoundException($"MAGMA_MINIWOB={root}: no miniwob/html/miniwob/click-button.html under it; point it at a miniwob-plusplus checkout.");
        }
    }
}

public sealed class MiniWobTests
{
    [MiniWobFact]
    public async Task Oracle_through_marks_solves_the_development_tasks()
    {
        // The six first tasks and issue 17's sixteen: fixed steps or a script that reads each observation, acting only
        // through marks. 50 steps: book-flight reads its results by scrolling.
        var source = new MiniWobSource(MiniWob.HtmlFolder!);
        var runner = new TaskRunner(source, (start, _) => start.OracleOrNull()!, maxSteps: 50);
        await using WebSession session = await WebSession.LaunchAsync(source.SessionOptions);
        var results = new List<EpisodeResult>();
        foreach (string task in MiniWobSource.DevelopmentTasks)
        {
            for (int seed = 0; seed < 3; seed++)
            {
                results.Add(await runner.RunAsync(session, task, seed));
            }
        }

        Assert.Equal(3 * 22, results.Count);
        Assert.All(results, r => Assert.True(r.Success && r.Stale == 0 && r.Invalid == 0,
            $"{r.Task} seed {r.Seed}: reward {r.Reward}, steps {r.Steps}, stale {r.Stale}, invalid {r.Invalid}"));
    }

    [MiniWobFact]
    public async Task Every_development_task_exists_and_has_an_oracle()
    {
        var source = new MiniWobSource(MiniWob.HtmlFolder!);
        await using WebSession session = await WebSession.LaunchAsync(source.SessionOptions);
        foreach (string task in MiniWobSource.DevelopmentTasks)
        {
            EpisodeStart start = await source.StartAsync(session, task, 0);
            Assert.False(string.IsNullOrWhiteSpace(start.Goal), task);
            Assert.True(start.OracleOrNull() is not null, $"{task} has no oracle for: {start.Goal}");
        }
    }

    [MiniWobFact]
    public async Task Seeded_episodes_repeat_and_seeds_differ()
    {
        var source = new MiniWobSource(MiniWob.HtmlFolder!);
        await using WebSession session = await WebSession.LaunchAsync(source.SessionOptions);
        string a = (await source.StartAsync(session, "click-link", 4)).Goal;
        string b = (await source.StartAsync(session, "click-link", 4)).Goal;
        var others = new HashSet<string>(StringComparer.Ordinal);
        for (int seed = 0; seed < 4; seed++)
        {
            others.Add((await source.StartAsync(session, "click-link", seed)).Goal);
        }

        Assert.Equal(a, b);
        Assert.True(others.Count > 1, $"four seeds gave one goal: {a}");
    }
}
