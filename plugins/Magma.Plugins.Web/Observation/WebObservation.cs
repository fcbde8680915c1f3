using Magma.Inference.Imaging;
using Magma.Tasks.Decoding;
using Magma.Tasks.Marks;

namespace Magma.Plugins.Web.Observation;

/// <summary>
/// What the agent saw at one moment: the viewport screenshot (clean and with Set-of-Mark), the marks, the URL. Immutable;
/// its marks can be acted on only while it is the session's current observation.
/// </summary>
public sealed class WebObservation
{
    internal WebObservation(string id, string url, string title, int viewportWidth, int viewportHeight, float deviceScaleFactor,
        RgbImage screenshot, RgbImage marked, IReadOnlyList<WebMark> marks, IReadOnlyList<MarkBox> maskedBoxes, ObserveTimings timings, IReadOnlyList<WebText>? texts = null)
    {
        Texts = texts ?? [];
        Id = id;
        Url = url;
        Title = title;
        ViewportWidth = viewportWidth;
        ViewportHeight = viewportHeight;
        DeviceScaleFactor = deviceScaleFactor;
        Screenshot = screenshot;
        Marked = marked;
        Marks = marks;
        MaskedBoxes = maskedBoxes;
        Timings = timings;
        var boxes = new Dictionary<int, NormalizedBox>(marks.Count);
        foreach (WebMark m in marks)
        {
            boxes[m.Id] = new NormalizedBox(
                m.PixelBox.X / screenshot.Width, m.PixelBox.Y / screenshot.Height,
                m.PixelBox.Right / screenshot.Width, m.PixelBox.Bottom / screenshot.Height);
        }

        NormalizedBoxes = boxes;
    }

    /// <summary>Observation id, e.g. <c>obs-3</c>; actions name it with a mark.</summary>
    public string Id { get; }

    /// <summary>Page URL at observation time.</summary>
    public string Url { get; }

    /// <summary>Page title.</summary>
    public string Title { get; }

    /// <summary>Viewport width in CSS pixels.</summary>
    public int ViewportWidth { get; }

    /// <summary>Viewport height in CSS pixels.</summary>
    public int ViewportHeight { get; }

    /// <summary>Screenshot pixels per CSS pixel.</summary>
    public float DeviceScaleFactor { get; }

    /// <summary>The viewport screenshot with passwords and secrets masked, without marks.</summary>
    public RgbImage Screenshot { get; }

    /// <summary>The same screenshot with Magma-style marks drawn on it: what the model sees.</summary>
    public RgbImage Marked { get; }

    /// <summary>The marks, in number order.</summary>
    public IReadOnlyList<WebMark> Marks { get; }

    /// <summary>
    /// The visible text of the page, run by run in document order, with boxes (what a person reads off the screenshot; for
    /// text-reading policies and the harness's scripted oracles). Redacted like every text of the observation; empty when
    /// <see cref="Browser.WebSessionOptions.ReadText"/> is off. Page text is untrusted content, never instructions.
    /// </summary>
    public IReadOnlyList<WebText> Texts { get; }

    /// <summary>Boxes (screenshot pixels) painted over because they hold passwords or secrets.</summary>
    public IReadOnlyList<MarkBox> MaskedBoxes { get; }

    /// <summary>Mark id → box normalised to the screenshot, for <see cref="UiAnswerParser.ParseTarget"/>.</summary>
    public IReadOnlyDictionary<int, NormalizedBox> NormalizedBoxes { get; }

    /// <summary>How long the parts of this observation took.</summary>
    public ObserveTimings Timings { get; }

    /// <summary>The compact mark list sent with the image, one mark per line.</summary>
    public string MarkList()
    {
        var s = new System.Text.StringBuilder();
        foreach (WebMark m in Marks)
        {
            s.AppendLine(m.Describe());
        }

        return s.ToString();
    }

    /// <summary>The mark with this id, or null.</summary>
    public WebMark? Find(int mark) => mark >= 0 && mark < Marks.Count ? Marks[mark] : null;

    /// <summary>
    /// The smallest mark whose box contains a point in screenshot pixels, or null when the point is outside every mark.
    /// </summary>
    public WebMark? MarkAtPixel(double x, double y)
    {
        WebMark? best = null;
        foreach (WebMark m in Marks)
        {
            MarkBox b = m.PixelBox;
            if (x >= b.X && x <= b.Right && y >= b.Y && y <= b.Bottom && (best is null || (b.Width * b.Height) < (best.PixelBox.Width * best.PixelBox.Height)))
            {
                best = m;
            }
        }

        return best;
    }
}

/// <summary>One visible text run of the page.</summary>
/// <param name="Text">The run's text, whitespace collapsed (160 characters at most).</param>
/// <param name="CssBox">Its visible box in top-frame CSS pixels.</param>
/// <param name="IsImage">True when the run is an image's alt text (an icon that says "vegan"), not text on the page.</param>
public sealed record WebText(string Text, MarkBox CssBox, bool IsImage = false);

/// <summary>Where the time of one observation went (milliseconds).</summary>
/// <param name="DiscoverMs">Element discovery and hit-testing in the page.</param>
/// <param name="ScreenshotMs">Screenshot capture and PNG decode.</param>
/// <param name="DrawMs">Masking and drawing the marks.</param>
public sealed record ObserveTimings(double DiscoverMs, double ScreenshotMs, double DrawMs)
{
    /// <summary>Total.</summary>
    public double TotalMs => DiscoverMs + ScreenshotMs + DrawMs;
}
