using BenchmarkDotNet.Attributes;
using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Observation;

namespace Magma.Benchmarks;

/// <summary>
/// The web plugin's per-step cost outside the model, on a real Chromium: one observation (marker script discovery +
/// screenshot + PNG decode + masks + Set-of-Mark drawing) and one act (re-validation of the mark, mouse click at the box
/// centre, settle, effect report) on the project's sign-up task page (tests/assets/web/form.html, 10 marks) at
/// 1280x800, DSF 1. The act toggles the terms checkbox, which neither navigates nor makes the observation stale, so the
/// same observation is acted on every invocation; the settle's DOM-quiet window (150 ms by default) is part of it.
/// </summary>
[MemoryDiagnoser]
public class WebBenchmarks
{
    private const string Origin = "http://tasks.test";
    private WebSession _session = null!;
    private WebObservation _observation = null!;
    private int _checkbox;

    /// <summary>Settle's DOM-quiet window: the default (150 ms) and 0 (what act costs without it).</summary>
    [Params(150, 0)]
    public int SettleQuietMs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _session = WebSession.LaunchAsync(new WebSessionOptions
        {
            ViewportWidth = 1280,
            ViewportHeight = 800,
            DeviceScaleFactor = 1,
            SettleQuietMilliseconds = SettleQuietMs,
            LocalSites = new Dictionary<string, string> { [Origin] = FindTaskPages() },
        }).GetAwaiter().GetResult();
        _session.OpenAsync(Origin + "/form.html").GetAwaiter().GetResult();
        _observation = _session.ObserveAsync().GetAwaiter().GetResult();
        _checkbox = _observation.Marks.Single(m => m.Role == "checkbox").Id;
    }

    [GlobalCleanup]
    public void Cleanup() => _session.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public async Task<int> Observe()
    {
        _observation = await _session.ObserveAsync();
        _checkbox = _observation.Marks.Single(m => m.Role == "checkbox").Id;
        return _observation.Marks.Count;
    }

    [Benchmark]
    public async Task<bool?> ClickAndSettle()
    {
        // Observe() runs in its own process (BenchmarkDotNet), so the observation here is the one from setup.
        WebEffect effect = await _session.ClickAsync(_observation.Id, _checkbox);
        return effect.Checked;
    }

    private static string FindTaskPages()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "assets", "web");
            if (File.Exists(Path.Combine(candidate, "form.html")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/assets/web/form.html not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>
/// One observation at 1280x800, DSF 1, on pages with nested controls, names and widgets (tests/assets/web): tree.html
/// (nested tree, list row icons, menu, covered button; own-content boxes and point sampling), widgets.html (dates,
/// slider, multi-select, hover menus, drag, autocomplete), names.html (every naming rule and the nearby-text guess),
/// delegation.html (rows, cards and tools whose clicks are delegated to their container, and listeners that mark
/// nothing), slider.html (jQuery UI's slider handle shape and an ARIA slider), twins.html (many marks sharing a name:
/// the mark contexts' walk, its worst case included), and form.html as the baseline of
/// <see cref="WebBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class WebObserveBenchmarks
{
    private WebSession _session = null!;

    /// <summary>The page observed.</summary>
    [Params("form.html", "tree.html", "widgets.html", "names.html", "delegation.html", "slider.html", "twins.html")]
    public string Page { get; set; } = "form.html";

    /// <summary>Whether the observation reads the page's visible text (<see cref="WebSessionOptions.ReadText"/>).</summary>
    [Params(true, false)]
    public bool ReadText { get; set; } = true;

    [GlobalSetup]
    public void Setup()
    {
        string folder = WebBenchmarksPages.Find();
        _session = WebSession.LaunchAsync(new WebSessionOptions
        {
            ViewportWidth = 1280,
            ViewportHeight = 800,
            DeviceScaleFactor = 1,
            ReadText = ReadText,
            LocalSites = new Dictionary<string, string> { ["http://tasks.test"] = folder },
        }).GetAwaiter().GetResult();
        _session.OpenAsync("http://tasks.test/" + Page).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => _session.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public async Task<int> Observe() => (await _session.ObserveAsync()).Marks.Count;
}

internal static class WebBenchmarksPages
{
    public static string Find()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "assets", "web");
            if (File.Exists(Path.Combine(candidate, "form.html")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/assets/web/form.html not found above " + AppContext.BaseDirectory);
    }
}
