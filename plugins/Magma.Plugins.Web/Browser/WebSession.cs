using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Magma.Inference.Imaging;
using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Observation;
using Magma.Plugins.Web.Safety;
using Magma.Tasks.Marks;
using Microsoft.Playwright;

namespace Magma.Plugins.Web.Browser;

/// <summary>
/// One browser, one context, one active page: opens URLs, takes Set-of-Mark observations and acts on their marks with
/// real mouse and keyboard input, re-validating each target first. Chromium reaches the network only through the
/// session's <see cref="EgressProxy"/> (the origin allow-list, below the page); requests that need approval are held by
/// the <see cref="RequestGate"/> where they leave; every string handed out passes the <see cref="SecretRedactor"/>.
/// Not thread-safe: one agent drives one session.
/// </summary>
public sealed partial class WebSession : IAsyncDisposable
{
    private static readonly string MarkerScript = LoadScript("Magma.Plugins.Web.marker.js");
    private static readonly string HooksScript = LoadScript("Magma.Plugins.Web.hooks.js");
    private static readonly SetOfMarkRenderer Renderer = new();
    private static readonly SetOfMarkRenderer AdaptiveRenderer = new() { AdaptToBackground = true };

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IBrowserContext _context;
    private readonly WebSessionOptions _options;
    private readonly OriginPolicy _policy;
    private readonly List<LocalSite> _sites;
    private readonly EgressProxy _proxy;
    private readonly SecretRedactor _redactor;
    private readonly RequestGate _requestGate;
    private readonly RoutingTickets _tickets = new(); // requests judged by routing, not again at the proxy
    private readonly List<BlockedEvent> _blocked = [];
    private readonly List<string> _refused = [];
    private volatile ActionScope? _scope;
    private readonly Dictionary<IRequest, long> _inflight = new(ReferenceEqualityComparer.Instance); // request → when it started
    private long _requests;
    private TaskCompletionSource _networkSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pagesSeen;
    private TaskCompletionSource _pageSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _lastAllowedUrl; // the main frame's last allowed page: where a refused navigation returns
    private readonly List<string> _dialogs = [];
    private readonly List<Task> _pending = [];
    private readonly Lock _gate = new();
    private IPage _page;
    private WebObservation? _current;
    private int _sequence;
    private string? _newPage;

    private WebSession(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, WebSessionOptions options,
        OriginPolicy policy, List<LocalSite> sites, EgressProxy proxy, SecretRedactor redactor, RequestGate gate)
    {
        _playwright = playwright;
        _browser = browser;
        _context = context;
        _page = page;
        _options = options;
        _policy = policy;
        _sites = sites;
        _proxy = proxy;
        _redactor = redactor;
        _requestGate = gate;
    }

    /// <summary>The active page (for hosts and harnesses that read page state, e.g. a task's reward).</summary>
    public IPage Page => _page;

    /// <summary>The options the session was launched with.</summary>
    public WebSessionOptions Options => _options;

    /// <summary>The allow-list in force (the configured origins plus the local sites).</summary>
    public OriginPolicy Policy => _policy;

    /// <summary>Chromium's version string, logged because a non-bundled browser is "use at your own risk".</summary>
    public string BrowserVersion => _browser.Version;

    /// <summary>Whether the browser and the active page are still there (false after a crash or close: a host failure).</summary>
    internal bool IsAlive => _browser.IsConnected && !_page.IsClosed;

    /// <summary>The current observation, or null when there is none or the page changed under it.</summary>
    public WebObservation? Current => _current;

    /// <summary>Everything the allow-list refused so far.</summary>
    public IReadOnlyList<BlockedEvent> Blocked
    {
        get { lock (_gate) { return [.. _blocked]; } }
    }

    /// <summary>Raised (on a thread-pool thread) each time the allow-list refuses something; also listed in <see cref="Blocked"/>.</summary>
    public event EventHandler<BlockedEvent>? RequestBlocked;

    /// <summary>Requests and actions the approval gate refused so far (nothing of them was sent or done).</summary>
    public IReadOnlyList<string> Refused
    {
        get { lock (_gate) { return [.. _refused]; } }
    }

    /// <summary>
    /// The host's approval callback for requests and actions that need one (see <see cref="WebSessionOptions.Approve"/>);
    /// null refuses them all. <see cref="Safety.WebConfirmationFilter"/> sets it.
    /// </summary>
    public Func<WebApprovalRequest, CancellationToken, Task<bool>>? Approver
    {
        get => _requestGate.Approver;
        set => _requestGate.Approver = value;
    }

    /// <summary>The text with every configured secret's value (also URL-, form-, JSON- and HTML-encoded) replaced by its placeholder.</summary>
    public string Redact(string text) => _redactor.Redact(text);

    /// <summary>Messages of JavaScript dialogs answered so far.</summary>
    public IReadOnlyList<string> Dialogs
    {
        get { lock (_gate) { return [.. _dialogs]; } }
    }

    /// <summary>Starts Playwright's driver and Chromium (headless, no sandbox as root, background networking off).</summary>
    /// <exception cref="WebPolicyException">The Chromium binary is missing.</exception>
    public static async Task<WebSession> LaunchAsync(WebSessionOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new WebSessionOptions();
        string exe = options.ResolveExecutable();
        if (!File.Exists(exe))
        {
            throw new WebPolicyException(
                $"Chromium not found at \"{exe}\". Install Debian's package: sudo apt-get install -y chromium, or set WebSessionOptions.ExecutablePath / MAGMA_CHROMIUM to the binary.");
        }

        if (options.DeviceScaleFactor <= 0 || options.ViewportWidth <= 0 || options.ViewportHeight <= 0)
        {
            throw new ArgumentException(
                $"WebSessionOptions: viewport {options.ViewportWidth}x{options.ViewportHeight} at scale {options.DeviceScaleFactor} is invalid; all must be positive.",
                nameof(options));
        }

        var sites = options.LocalSites.Select(kv => new LocalSite(kv.Key, kv.Value)).ToList();
        var policy = new OriginPolicy(options.AllowedOrigins.Concat(sites.Select(s => s.Origin)));
        var redactor = new SecretRedactor(options.Secrets);
        var gate = new RequestGate(redactor, options.Approve);
        cancellationToken.ThrowIfCancellationRequested();

        // The proxy exists before the browser so that Chromium never runs without it; it reaches the session once built.
        WebSession? owner = null;
        var proxy = new EgressProxy(policy,
            (channel, url) => owner?.Record(channel, url),
            request => owner is null ? Task.FromResult(false) : owner.HoldAtProxyAsync(request));
        List<string> args;
        try
        {
            args = ChromiumArguments.Build(proxy.Address, options.ExtraArguments);
        }
        catch
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        IPlaywright? playwright = null;
        IBrowser? browser = null;
        try
        {
            playwright = await Playwright.CreateAsync().ConfigureAwait(false);
            browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = exe,
                Headless = options.Headless,
                Args = args,
            }).ConfigureAwait(false);
            IBrowserContext context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = options.ViewportWidth, Height = options.ViewportHeight },
                DeviceScaleFactor = options.DeviceScaleFactor,
                Locale = "en-US",
                TimezoneId = "UTC",
                ReducedMotion = ReducedMotion.Reduce,
                ColorScheme = ColorScheme.Light,
                ServiceWorkers = ServiceWorkerPolicy.Block,
                AcceptDownloads = false,
            }).ConfigureAwait(false);
            // Before any page script: records pointer listeners and an action's short timers (see hooks.js).
            await context.AddInitScriptAsync(HooksScript).ConfigureAwait(false);
            IPage page = await context.NewPageAsync().ConfigureAwait(false);
            var session = new WebSession(playwright, browser, context, page, options, policy, sites, proxy, redactor, gate);
            owner = session;
            await context.RouteAsync("**/*", session.RouteAsync).ConfigureAwait(false);
            context.Page += session.OnNewPage;
            context.Request += session.OnRequest;
            context.RequestFinished += session.OnRequestEnded;
            context.RequestFailed += session.OnRequestEnded;
            session.Attach(page);
            return session;
        }
        catch
        {
            if (browser is not null)
            {
                await browser.CloseAsync().ConfigureAwait(false);
            }

            playwright?.Dispose();
            await proxy.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Navigates the active page, waits for it to settle, and drops the current observation.</summary>
    /// <exception cref="WebPolicyException">The URL is not on the allow-list.</exception>
    public async Task<WebEffect> OpenAsync(string url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!_policy.IsAllowed(url))
        {
            Record("navigation", url);
            throw new WebPolicyException(
                $"open(\"{Shown(url)}\") refused: its origin is not allowed. Allowed: {string.Join(", ", _policy.Origins)}. Add it to WebSessionOptions.AllowedOrigins if it is safe.");
        }

        return await ActAsync($"open {Shown(url)}", null, null, [], async () =>
        {
            await _page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load }).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes an observation: finds the interactive elements, screenshots the viewport, masks every password field and
    /// every field whose current value holds a secret, and draws the marks. Every text in it is redacted. The new
    /// observation replaces the previous one, whose marks become stale.
    /// </summary>
    public async Task<WebObservation> ObserveAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await DrainPendingAsync().ConfigureAwait(false);
        string id = "obs-" + (++_sequence).ToString(CultureInfo.InvariantCulture);
        var sw = Stopwatch.StartNew();
        IPage page = _page;
        using JsonDocument rawDocument = await EvalJsonAsync("observe", new { id, fields = _redactor.Any, texts = _options.ReadText, shot = WantsCdpScreenshot }).ConfigureAwait(false);
        JsonElement raw = rawDocument.RootElement;
        double discover = sw.Elapsed.TotalMilliseconds;

        sw.Restart();
        (byte[] png, Task restored) = await CaptureAsync(page, raw).ConfigureAwait(false);
        RgbImage shot;
        try
        {
            shot = RgbImage.Decode(png, sourceName: "viewport screenshot");
        }
        finally
        {
            await restored.ConfigureAwait(false);
        }

        double screenshot = sw.Elapsed.TotalMilliseconds;

        sw.Restart();
        int vw = raw.GetProperty("vw").GetInt32(), vh = raw.GetProperty("vh").GetInt32();
        float dsf = (float)shot.Width / vw;
        var marks = new List<WebMark>();
        int n = 0;
        foreach (JsonElement e in raw.GetProperty("elements").EnumerateArray())
        {
            var css = new MarkBox(F(e, "x"), F(e, "y"), F(e, "w"), F(e, "h"));
            string? value = e.GetProperty("value").ValueKind == JsonValueKind.String ? e.GetProperty("value").GetString() : null;
            string? shownValue = value is null ? null : _redactor.Redact(value);
            marks.Add(new WebMark
            {
                Id = n++,
                Role = S(e, "role"),
                Name = _redactor.Redact(S(e, "name")),
                NameFrom = S(e, "nameFrom"),
                Context = e.TryGetProperty("context", out JsonElement cx) && cx.ValueKind == JsonValueKind.String && cx.GetString() is { Length: > 0 } near
                    ? _redactor.Redact(near) : null,
                States = e.TryGetProperty("states", out JsonElement st) && st.ValueKind == JsonValueKind.Array ? [.. st.EnumerateArray().Select(x => _redactor.Redact(x.GetString() ?? ""))] : [],
                Options = e.TryGetProperty("options", out JsonElement op) && op.ValueKind == JsonValueKind.Array
                    ? [.. op.EnumerateArray().Select(o => new WebOption(_redactor.Redact(S(o, "text")), o.GetProperty("selected").GetBoolean()))]
                    : null,
                Tag = S(e, "tag"),
                Type = S(e, "type"),
                Value = shownValue,
                Masked = e.GetProperty("masked").GetBoolean() || !string.Equals(value, shownValue, StringComparison.Ordinal),
                Checked = e.GetProperty("checked").ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetProperty("checked").GetBoolean() : null,
                Href = _redactor.Redact(S(e, "href")),
                CssBox = css,
                PixelBox = new MarkBox(css.X * dsf, css.Y * dsf, css.Width * dsf, css.Height * dsf),
                FramePath = _redactor.Redact(S(e, "frame")),
                InShadowRoot = e.GetProperty("shadow").GetBoolean(),
                IsSubmit = e.GetProperty("submit").GetBoolean(),
                InPasswordForm = e.GetProperty("passwordForm").GetBoolean(),
                IsFileInput = e.GetProperty("file").GetBoolean(),
            });
        }

        var masks = new List<MarkBox>();
        foreach (JsonElement m in raw.GetProperty("masks").EnumerateArray())
        {
            masks.Add(new MarkBox(F(m, "x") * dsf, F(m, "y") * dsf, F(m, "w") * dsf, F(m, "h") * dsf));
        }

        if (raw.TryGetProperty("fields", out JsonElement fields) && fields.ValueKind == JsonValueKind.Array)
        {
            // By value, at every observation: a field the page re-rendered or copied the secret into is masked as well.
            foreach (JsonElement f in fields.EnumerateArray())
            {
                if (_redactor.Find(S(f, "value")) is not null)
                {
                    masks.Add(new MarkBox(F(f, "x") * dsf, F(f, "y") * dsf, F(f, "w") * dsf, F(f, "h") * dsf));
                }
            }
        }

        var texts = new List<WebText>();
        if (raw.TryGetProperty("texts", out JsonElement tx) && tx.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement t in tx.EnumerateArray())
            {
                texts.Add(new WebText(_redactor.Redact(S(t, "text")), new MarkBox(F(t, "x"), F(t, "y"), F(t, "w"), F(t, "h")),
                    t.TryGetProperty("image", out JsonElement img) && img.ValueKind == JsonValueKind.True));
            }
        }

        RgbImage clean = masks.Count == 0 ? shot : Mask(shot, masks);
        SetOfMarkResult drawn = (_options.AdaptiveMarks ? AdaptiveRenderer : Renderer).Draw(clean, [.. marks.Select(m => m.PixelBox)]);
        double draw = sw.Elapsed.TotalMilliseconds;

        var observation = new WebObservation(id, _redactor.Redact(S(raw, "url")), _redactor.Redact(S(raw, "title")), vw, vh, dsf, clean, drawn.Image, marks, masks,
            new ObserveTimings(discover, screenshot, draw), texts);
        _current = observation;
        return observation;
    }

    /// <summary>
    /// Clicks a mark at its click point (its centre, or the visible part the observation found when the centre is
    /// covered). The pointer moves there first and the element's names are read again as the click will find them (a page
    /// may rename or re-wire a control on hover); a name that reads as irreversible needs approval before the click.
    /// </summary>
    /// <exception cref="WebStaleObservationException">The observation is not current, or the target moved or is covered.</exception>
    public Task<WebEffect> ClickAsync(string observationId, int mark, CancellationToken cancellationToken = default) =>
        PointerAsync(observationId, mark, "click", (x, y) => _page.Mouse.ClickAsync(x, y), cancellationToken);

    /// <summary>Double-clicks a mark; judged like <see cref="ClickAsync"/>.</summary>
    /// <exception cref="WebStaleObservationException">The observation is not current, or the target moved or is covered.</exception>
    public Task<WebEffect> DoubleClickAsync(string observationId, int mark, CancellationToken cancellationToken = default) =>
        PointerAsync(observationId, mark, "double-click", (x, y) => _page.Mouse.DblClickAsync(x, y), cancellationToken);

    private async Task<WebEffect> PointerAsync(string observationId, int mark, string verb, Func<float, float, Task> press, CancellationToken cancellationToken)
    {
        (WebMark target, _, JsonElement check) = await ValidateAsync(observationId, mark, verb, requireHit: true).ConfigureAwait(false);
        (float x, float y) = await PointerOntoAsync(observationId, mark, target, ClickPoint(check), verb).ConfigureAwait(false);
        IReadOnlyList<string> names = await ActorNamesAsync(new { id = observationId, mark, x = (double)x, y = (double)y }).ConfigureAwait(false);
        return await ActAsync($"{verb} {target.Describe()}", observationId, mark, names, () => press(x, y), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the pointer onto a mark and returns where to press once the hover's effects on the target have settled. A
    /// hover rule may re-render the target itself (an icon whose <c>:hover</c> picture is still loading flickers between
    /// 0 px and its size every frame, and a press meanwhile lands on its parent), so the press waits until the point
    /// reaches the target on consecutive frames (marker.js <c>reach</c>), up to the settle timeout; when the hover covered
    /// that point for good, another point of the target that it reaches is tried once.
    /// </summary>
    /// <exception cref="WebStaleObservationException">The hover covered or removed the target.</exception>
    private async Task<(float X, float Y)> PointerOntoAsync(string observationId, int mark, WebMark target, (float X, float Y) point, string verb)
    {
        int cap = _options.SettleTimeoutMilliseconds;
        for (int attempt = 0; ; attempt++)
        {
            await _page.Mouse.MoveAsync(point.X, point.Y).ConfigureAwait(false);
            JsonElement reach = await EvalAsync("reach", new { id = observationId, mark, x = (double)point.X, y = (double)point.Y, capMs = cap }).ConfigureAwait(false);
            await ExpectOkAsync(reach, observationId, mark).ConfigureAwait(false);
            if (reach.GetProperty("hits").GetBoolean())
            {
                return point;
            }

            if (attempt == 0 && reach.TryGetProperty("alt", out JsonElement alt) && alt.ValueKind == JsonValueKind.Object)
            {
                point = (F(alt, "x"), F(alt, "y"));
                cap = Math.Min(cap, HoverRetryMilliseconds);
                continue;
            }

            string what = F(reach, "w") <= 0 || F(reach, "h") <= 0 ? "has no size" : $"is covered by a <{S(reach, "hitTag")}>";
            throw new WebStaleObservationException(
                $"{verb} mark {mark} of {observationId} ({target.Describe()}): once the pointer is over it, it {what} (a hover effect); observe again and use the new marks.");
        }
    }

    /// <summary>
    /// Moves the mouse over a mark (menus that open on hover). Hovering activates nothing, so it is not asked about up
    /// front; requests it sets off are judged with the element's names like those of a click.
    /// </summary>
    public async Task<WebEffect> HoverAsync(string observationId, int mark, CancellationToken cancellationToken = default)
    {
        (WebMark target, _, JsonElement check) = await ValidateAsync(observationId, mark, "hover", requireHit: true).ConfigureAwait(false);
        (float x, float y) = ClickPoint(check);
        IReadOnlyList<string> names = await ActorNamesAsync(new { id = observationId, mark }).ConfigureAwait(false);
        return await ActAsync($"hover {target.Describe()}", observationId, mark, names, () => _page.Mouse.MoveAsync(x, y), cancellationToken,
            askFirst: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Drags a mark onto another mark with the mouse (press, move in steps, release), as drag-and-drop lists, sortable
    /// items and HTML5 drop zones expect. Judged (up front and at the request layer) by the names of both elements.
    /// </summary>
    /// <exception cref="WebActionException">Source and target are the same mark.</exception>
    public async Task<WebEffect> DragAsync(string observationId, int mark, int toMark, CancellationToken cancellationToken = default)
    {
        if (mark == toMark)
        {
            throw new WebActionException($"drag mark {mark} onto itself: give a different target mark, or a point with drag_to_point.");
        }

        (WebMark source, _, JsonElement from) = await ValidateAsync(observationId, mark, "drag", requireHit: true).ConfigureAwait(false);
        (WebMark dest, _, JsonElement to) = await ValidateAsync(observationId, toMark, "drop onto", requireHit: false).ConfigureAwait(false);
        return await DragCoreAsync($"drag {source.Describe()} onto {dest.Describe()}", observationId, mark, source, ClickPoint(from), ClickPoint(to),
            new { id = observationId, mark = toMark }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drags a mark to a point given in screenshot pixels of the observation (a slot between marks, a canvas).</summary>
    /// <exception cref="WebActionException">The point is outside the screenshot.</exception>
    public async Task<WebEffect> DragToPointAsync(string observationId, int mark, double pixelX, double pixelY, CancellationToken cancellationToken = default)
    {
        WebObservation obs = RequireCurrent(observationId, mark);
        (float x, float y) = ViewportPoint(obs, pixelX, pixelY, "drag to point");
        (WebMark source, _, JsonElement from) = await ValidateAsync(observationId, mark, "drag", requireHit: true).ConfigureAwait(false);
        return await DragCoreAsync($"drag {source.Describe()} to point ({x:0.#}, {y:0.#})", observationId, mark, source, ClickPoint(from), (x, y),
            new { x = (double)x, y = (double)y }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<WebEffect> DragCoreAsync(string description, string observationId, int mark, WebMark source, (float X, float Y) from, (float X, float Y) to,
        object dropActor, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> names = [.. await ActorNamesAsync(new { id = observationId, mark }).ConfigureAwait(false),
            .. await ActorNamesAsync(dropActor).ConfigureAwait(false)];
        from = await PointerOntoAsync(observationId, mark, source, from, "drag").ConfigureAwait(false);
        return await ActAsync(description, observationId, mark, names, async () =>
        {
            await _page.Mouse.DownAsync().ConfigureAwait(false);
            // A few pixels first: drag libraries start a drag only past a distance threshold; then in steps, because they
            // follow mousemove (and HTML5 drop zones need dragover) along the way.
            await _page.Mouse.MoveAsync(from.X + (to.X >= from.X ? 6 : -6), from.Y + (to.Y >= from.Y ? 6 : -6), new MouseMoveOptions { Steps = 2 }).ConfigureAwait(false);
            await _page.Mouse.MoveAsync(to.X, to.Y, new MouseMoveOptions { Steps = 12 }).ConfigureAwait(false);
            await _page.Mouse.UpAsync().ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Clicks a mark, replaces its content with <paramref name="text"/> (typed key by key) and optionally presses Enter.
    /// <c>{{secret:NAME}}</c> placeholders are replaced by <see cref="WebSessionOptions.Secrets"/>; the value is never
    /// reported (redacted by value) and the field is masked in screenshots. Line breaks are typed only into multi-line
    /// fields (textarea, contenteditable); other control characters are refused. Date, time, month, week, colour and
    /// range inputs, which typing cannot fill, are set as by <see cref="SetValueAsync"/>.
    /// </summary>
    public async Task<WebEffect> TypeAsync(string observationId, int mark, string text, bool pressEnter = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        (WebMark target, _, JsonElement check) = await ValidateAsync(observationId, mark, "type into", requireHit: true).ConfigureAwait(false);
        if (S(check, "tag") == "input" && InputValues.IsSettable(S(check, "type")))
        {
            return await SetValueCoreAsync(target, observationId, mark, check, text, pressEnter, cancellationToken).ConfigureAwait(false);
        }

        if (check.TryGetProperty("slider", out JsonElement slider) && slider.ValueKind == JsonValueKind.Object)
        {
            return await SetSliderAsync(target, observationId, mark, slider, text, cancellationToken).ConfigureAwait(false);
        }

        bool multiline = check.TryGetProperty("multiline", out JsonElement ml) && ml.GetBoolean();
        string keys = ControlCharacters(text, multiline, target);
        (string actual, _) = SubstituteSecrets(keys);
        IReadOnlyList<string> names = pressEnter ? await ActorNamesAsync(new { id = observationId, mark, enter = true }).ConfigureAwait(false) : [];
        (float x, float y) = await PointerOntoAsync(observationId, mark, target, ClickPoint(check), "type into").ConfigureAwait(false);
        return await ActAsync($"type \"{Shown(text)}\"{(pressEnter ? " + Enter" : "")} into {target.Describe()}", observationId, mark, names, async () =>
        {
            await _page.Mouse.ClickAsync(x, y).ConfigureAwait(false);
            await ExpectOkAsync(await EvalAsync("focusSelect", new { id = observationId, mark }).ConfigureAwait(false), observationId, mark).ConfigureAwait(false);
            await _page.Keyboard.PressAsync("Delete").ConfigureAwait(false);
            await _page.Keyboard.TypeAsync(actual).ConfigureAwait(false);
            if (pressEnter)
            {
                await _page.Keyboard.PressAsync("Enter").ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets a field's value: date (<c>2026-12-03</c>), time (<c>14:30</c>), month (<c>2026-12</c>), week
    /// (<c>2026-W49</c>), datetime-local (<c>2026-12-03T14:30</c>) and colour (<c>#1e90ff</c>) inputs take ISO strings;
    /// a range input is moved with the arrow keys, as a person would; a <c>&lt;select&gt;</c> gets that option; any other
    /// field is typed into as by <see cref="TypeAsync"/>.
    /// </summary>
    /// <exception cref="WebActionException">The value is not in the input's format or outside its min/max/step.</exception>
    public async Task<WebEffect> SetValueAsync(string observationId, int mark, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        (WebMark target, _, JsonElement check) = await ValidateAsync(observationId, mark, "set the value of", requireHit: true).ConfigureAwait(false);
        string tag = S(check, "tag");
        if (tag == "select")
        {
            return await SelectAsync(observationId, mark, value, WebSelectMode.Replace, cancellationToken).ConfigureAwait(false);
        }

        if (check.TryGetProperty("slider", out JsonElement slider) && slider.ValueKind == JsonValueKind.Object)
        {
            return await SetSliderAsync(target, observationId, mark, slider, value, cancellationToken).ConfigureAwait(false);
        }

        return tag == "input" && InputValues.IsSettable(S(check, "type"))
            ? await SetValueCoreAsync(target, observationId, mark, check, value, false, cancellationToken).ConfigureAwait(false)
            : await TypeAsync(observationId, mark, value, false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<WebEffect> SetValueCoreAsync(WebMark target, string observationId, int mark, JsonElement check, string value, bool pressEnter,
        CancellationToken cancellationToken)
    {
        string type = S(check, "type");
        if (check.TryGetProperty("disabled", out JsonElement d) && d.GetBoolean())
        {
            throw new WebActionException($"set the value of {target.Describe()}: it is disabled; enable it first or choose another field.");
        }

        string v = InputValues.Normalize(type, value, S(check, "min"), S(check, "max"), S(check, "step"), out string? problem);
        if (problem is not null)
        {
            throw new WebActionException($"set \"{Shown(value)}\" in {target.Describe()}: {problem}");
        }

        IReadOnlyList<string> names = await ActorNamesAsync(new { id = observationId, mark, enter = pressEnter }).ConfigureAwait(false);
        return await ActAsync($"set {target.Describe()} to \"{Shown(v)}\"{(pressEnter ? " + Enter" : "")}", observationId, mark, names, async () =>
        {
            int steps = type == "range" ? InputValues.RangeSteps(S(check, "value"), v, S(check, "min"), S(check, "step")) : 0;
            if (type == "range" && Math.Abs(steps) <= InputValues.MaxRangeKeys)
            {
                // The keyboard, as a person moves a slider: each press is one step, with the input events the page expects.
                await ExpectOkAsync(await EvalAsync("focusSelect", new { id = observationId, mark }).ConfigureAwait(false), observationId, mark).ConfigureAwait(false);
                for (int i = 0; i < Math.Abs(steps); i++)
                {
                    await _page.Keyboard.PressAsync(steps > 0 ? "ArrowRight" : "ArrowLeft").ConfigureAwait(false);
                }
            }
            else
            {
                // Playwright's fill sets these inputs' value as the browser's own picker does (input and change events).
                IJSHandle handle = await _page.EvaluateHandleAsync(Expression("element"), new { id = observationId, mark }).ConfigureAwait(false);
                IElementHandle element = handle.AsElement() ?? throw new WebStaleObservationException(
                    $"Mark {mark} of {observationId} is stale: the element was removed from the page. Call observe and use the new marks.");
                try
                {
                    await element.FillAsync(v, new ElementHandleFillOptions { Timeout = _options.SettleTimeoutMilliseconds }).ConfigureAwait(false);
                }
                catch (PlaywrightException e) when (e.Message.Contains("Malformed", StringComparison.OrdinalIgnoreCase))
                {
                    throw new WebActionException($"set \"{Shown(value)}\" in {target.Describe()}: the browser refused the value ({InputValues.Format(type)}).", e);
                }
                finally
                {
                    await handle.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (pressEnter)
            {
                await _page.Keyboard.PressAsync("Enter").ConfigureAwait(false);
            }
        }, cancellationToken, askFirst: pressEnter).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves a slider that is not an <c>&lt;input&gt;</c> (an ARIA slider, jQuery UI's handle) with the arrow keys, as a
    /// person does: it gets the focus, one press shows how far a step goes (when the slider does not say), then the
    /// presses that remain, checked against the value the slider shows and corrected. The value is a number within
    /// min/max, or a percentage of the track when the slider says nothing but its handle's position (<c>40%</c>).
    /// </summary>
    private async Task<WebEffect> SetSliderAsync(WebMark target, string observationId, int mark, JsonElement info, string value, CancellationToken cancellationToken)
    {
        string unit = S(info, "unit");
        string text = value.Trim();
        bool percent = text.EndsWith('%');
        if (percent)
        {
            text = text[..^1].Trim();
        }

        string format = unit == "%" ? "a percentage of its track (0-100, e.g. 40%): it tells no value of its own" : "a number";
        if ((percent && unit != "%") || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double want) || !double.IsFinite(want))
        {
            throw new WebActionException($"set \"{Shown(value)}\" in {target.Describe()}: this slider takes {format}.");
        }

        double? min = Num(info, "min"), max = Num(info, "max");
        if ((min is double lo && want < lo) || (max is double hi && want > hi))
        {
            throw new WebActionException($"set \"{Shown(value)}\" in {target.Describe()}: the slider goes from {min?.ToString(CultureInfo.InvariantCulture) ?? "?"} to {max?.ToString(CultureInfo.InvariantCulture) ?? "?"}{unit}.");
        }

        IReadOnlyList<string> names = await ActorNamesAsync(new { id = observationId, mark }).ConfigureAwait(false);
        return await ActAsync($"set {target.Describe()} to \"{want.ToString(CultureInfo.InvariantCulture)}{unit}\"", observationId, mark, names, async () =>
        {
            await ExpectOkAsync(await EvalAsync("focusSelect", new { id = observationId, mark }).ConfigureAwait(false), observationId, mark).ConfigureAwait(false);
            double now = Num(info, "now") ?? 0;
            double? step = Num(info, "step");
            int presses = 0;
            for (int round = 0; round < 4 && presses < InputValues.MaxRangeKeys; round++)
            {
                double gap = want - now;
                if (Math.Abs(gap) < (step is double st ? st / 2 : 1e-9))
                {
                    break;
                }

                // One press when the step is unknown (to learn it), else the presses that close the gap.
                int n = step is double s && s > 0 ? Math.Max(1, (int)Math.Round(Math.Abs(gap) / s)) : 1;
                n = Math.Min(n, InputValues.MaxRangeKeys - presses);
                for (int i = 0; i < n; i++)
                {
                    await _page.Keyboard.PressAsync(gap > 0 ? "ArrowRight" : "ArrowLeft").ConfigureAwait(false);
                }

                presses += n;
                JsonElement read = await EvalAsync("slider", new { id = observationId, mark }).ConfigureAwait(false);
                await ExpectOkAsync(read, observationId, mark).ConfigureAwait(false);
                double after = Num(read, "now") ?? now;
                if (after == now)
                {
                    throw new WebActionException($"set {target.Describe()}: the arrow keys do not move it (it stays at {now.ToString(CultureInfo.InvariantCulture)}{unit}); drag it instead.");
                }

                step ??= Math.Abs(after - now) / n;
                now = after;
            }
        }, cancellationToken, askFirst: false).ConfigureAwait(false);
    }

    private static double? Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>Selects the option of a <c>&lt;select&gt;</c> mark whose label matches best (exact, case-insensitive, containment).</summary>
    public Task<WebEffect> SelectAsync(string observationId, int mark, string option, CancellationToken cancellationToken = default) =>
        SelectAsync(observationId, mark, option, WebSelectMode.Replace, cancellationToken);

    /// <summary>
    /// Chooses an option of a <c>&lt;select&gt;</c> mark (best label match): <see cref="WebSelectMode.Replace"/> makes it
    /// the only choice; <see cref="WebSelectMode.Add"/> and <see cref="WebSelectMode.Remove"/> change one option of a
    /// multi-select and keep the others.
    /// </summary>
    /// <exception cref="WebActionException">Not a select, no such option, or add/remove on a single-choice list.</exception>
    public async Task<WebEffect> SelectAsync(string observationId, int mark, string option, WebSelectMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(option);
        (WebMark target, _, _) = await ValidateAsync(observationId, mark, "select in", requireHit: true).ConfigureAwait(false);
        IReadOnlyList<string> names = await ActorNamesAsync(new { id = observationId, mark }).ConfigureAwait(false);
        string verb = mode switch { WebSelectMode.Add => "add", WebSelectMode.Remove => "remove", _ => "select" };
        return await ActAsync($"{verb} \"{Shown(option)}\" {(mode == WebSelectMode.Remove ? "from" : "in")} {target.Describe()}", observationId, mark, names, async () =>
        {
            await ExpectOkAsync(await EvalAsync("select", new { id = observationId, mark, label = option, mode = verb == "select" ? "replace" : verb }).ConfigureAwait(false),
                observationId, mark).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Scrolls the window by 80 % of the viewport (direction "down" or "up"), or — with a mark — the nearest scrollable
    /// container of that mark. The effect says how far the content moved (<see cref="WebEffect.Scrolled"/>).
    /// </summary>
    public async Task<WebEffect> ScrollAsync(string direction, string? observationId = null, int? mark = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        int sign = direction.Trim().ToUpperInvariant() switch
        {
            "DOWN" => 1,
            "UP" => -1,
            _ => throw new WebActionException($"scroll direction \"{Shown(direction)}\" is not supported; use \"down\" or \"up\"."),
        };
        int dy = sign * (int)(_options.ViewportHeight * 0.8);
        JsonElement moved = default;
        WebEffect effect;
        if (observationId is not null && mark is int m)
        {
            (WebMark target, _, _) = await ValidateAsync(observationId, m, "scroll at", requireHit: false).ConfigureAwait(false);
            effect = await ActAsync($"scroll {direction} at {target.Describe()}", observationId, m, [], async () =>
            {
                moved = await EvalAsync("scroll", new { id = observationId, mark = m, dy }).ConfigureAwait(false);
                await ExpectOkAsync(moved, observationId, m).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            effect = await ActAsync($"scroll {direction}", null, null, [], async () =>
            {
                moved = await EvalAsync("scroll", new { id = (string?)null, dy }).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }

        return moved.ValueKind == JsonValueKind.Object && moved.TryGetProperty("moved", out JsonElement px) && px.ValueKind == JsonValueKind.Number
            ? effect with { Scrolled = (int)Math.Round(px.GetDouble()), ScrolledContainer = S(moved, "container") }
            : effect;
    }

    /// <summary>
    /// Presses a key or chord on the focused element (Playwright key names: Enter, Tab, Escape, Space, Control+A…). For
    /// Enter and Space the focused element's current names (and, for Enter, its form's submit controls) are judged first.
    /// </summary>
    /// <exception cref="WebActionException">The key is not a key name.</exception>
    public async Task<WebEffect> PressAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        string last = key.Split('+')[^1];
        if (key.Length == 0 || (key.Trim().Length == 0) || key.Any(char.IsControl) || last.Length == 0)
        {
            throw new WebActionException(
                $"press \"{Shown(key)}\": not a key name. Use a name such as Enter, Tab, Escape, Space, ArrowDown, Backspace, or a chord like Control+A.");
        }

        bool activates = last is "Enter" or "NumpadEnter" or "Space" or " ";
        IReadOnlyList<string> names = activates ? await ActorNamesAsync(new { focused = true, enter = last != "Space" }).ConfigureAwait(false) : [];
        return await ActAsync($"press {Shown(key)}", null, null, names, async () =>
        {
            try
            {
                await _page.Keyboard.PressAsync(key).ConfigureAwait(false);
            }
            catch (PlaywrightException e) when (e.Message.Contains("Unknown key", StringComparison.OrdinalIgnoreCase))
            {
                throw new WebActionException(
                    $"press \"{Shown(key)}\": not a key name. Use a name such as Enter, Tab, Escape, Space, ArrowDown, Backspace, or a chord like Control+A.", e);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Goes back in history.</summary>
    public Task<WebEffect> BackAsync(CancellationToken cancellationToken = default) =>
        ActAsync("go back", null, null, [], () => _page.GoBackAsync(new PageGoBackOptions { WaitUntil = WaitUntilState.Load }), cancellationToken);

    /// <summary>How long (ms) a pointer action tries a second point of its target when the hover covered the first.</summary>
    private const int HoverRetryMilliseconds = 500;

    /// <summary>The longest <see cref="WaitAsync"/> accepted, in milliseconds.</summary>
    public const int MaxWaitMilliseconds = 10_000;

    /// <summary>
    /// Waits <paramref name="milliseconds"/> (0 to <see cref="MaxWaitMilliseconds"/>) for something the page does on its
    /// own time (a toast, a timer-driven task), then lets the page settle and reports what changed meanwhile.
    /// </summary>
    /// <exception cref="WebActionException">The duration is outside 0..<see cref="MaxWaitMilliseconds"/>.</exception>
    public Task<WebEffect> WaitAsync(int milliseconds, CancellationToken cancellationToken = default)
    {
        if (milliseconds is < 0 or > MaxWaitMilliseconds)
        {
            throw new WebActionException($"wait {milliseconds} ms: a wait lasts 0 to {MaxWaitMilliseconds} ms; give a duration in that range.");
        }

        return ActAsync($"wait {milliseconds} ms", null, null, [], () => Task.Delay(milliseconds, cancellationToken), cancellationToken, askFirst: false);
    }

    /// <summary>
    /// Clicks a point given in screenshot pixels of an observation (the grounding fallback when the model's point lies
    /// outside every mark). The element under it is judged by its current names like a marked one.
    /// </summary>
    public async Task<WebEffect> ClickPointAsync(string observationId, double pixelX, double pixelY, CancellationToken cancellationToken = default)
    {
        WebObservation obs = RequireCurrent(observationId, -1);
        (float x, float y) = ViewportPoint(obs, pixelX, pixelY, "click point");
        await _page.Mouse.MoveAsync(x, y).ConfigureAwait(false);
        IReadOnlyList<string> names = await ActorNamesAsync(new { x = (double)x, y = (double)y }).ConfigureAwait(false);
        return await ActAsync($"click point ({x:0.#}, {y:0.#})", null, null, names, () => _page.Mouse.ClickAsync(x, y), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A point in screenshot pixels of an observation, in CSS pixels of the viewport; refused outside it.</summary>
    private static (float X, float Y) ViewportPoint(WebObservation obs, double pixelX, double pixelY, string verb)
    {
        float x = (float)(pixelX / obs.DeviceScaleFactor), y = (float)(pixelY / obs.DeviceScaleFactor);
        if (double.IsNaN(pixelX) || double.IsNaN(pixelY) || x < 0 || y < 0 || x >= obs.ViewportWidth || y >= obs.ViewportHeight)
        {
            throw new WebActionException($"{verb} ({pixelX:0.#}, {pixelY:0.#}) px is outside the {obs.Screenshot.Width}x{obs.Screenshot.Height} screenshot of {obs.Id}.");
        }

        return (x, y);
    }

    /// <summary>Where a validated mark is clicked: the point the observation found reachable, at the box as it is now.</summary>
    private static (float X, float Y) ClickPoint(JsonElement check) => (F(check, "px"), F(check, "py"));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _context.CloseAsync().ConfigureAwait(false);
            await _browser.CloseAsync().ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
            // The browser is already gone (crashed or closed by the host); nothing left to release but the driver.
        }

        _playwright.Dispose();
        await _proxy.DisposeAsync().ConfigureAwait(false);
    }

    private async Task<(WebMark Target, MarkBox Box, JsonElement Check)> ValidateAsync(string observationId, int mark, string verb, bool requireHit)
    {
        WebObservation obs = RequireCurrent(observationId, mark);
        WebMark target = obs.Find(mark) ?? throw new WebActionException(
            $"{verb} mark {mark}: {observationId} has marks 0..{obs.Marks.Count - 1}; pick one of them.");
        JsonElement check = await EvalAsync("check", new { id = observationId, mark }).ConfigureAwait(false);
        await ExpectOkAsync(check, observationId, mark).ConfigureAwait(false);
        var now = new MarkBox(F(check, "x"), F(check, "y"), F(check, "w"), F(check, "h"));
        float tol = _options.BoxTolerance;
        if (Math.Abs(now.X - target.CssBox.X) > tol || Math.Abs(now.Y - target.CssBox.Y) > tol
            || Math.Abs(now.Right - target.CssBox.Right) > tol || Math.Abs(now.Bottom - target.CssBox.Bottom) > tol)
        {
            throw new WebStaleObservationException(
                $"Mark {mark} of {observationId} ({target.Describe()}) moved from ({target.CssBox.X:0},{target.CssBox.Y:0}) to ({now.X:0},{now.Y:0}) since the observation; observe again and use the new marks.");
        }

        if (requireHit && !check.GetProperty("hits").GetBoolean())
        {
            throw new WebStaleObservationException(
                $"Mark {mark} of {observationId} ({target.Describe()}) is now covered by a <{S(check, "hitTag")}> at its centre; observe again (a dialog or overlay may have opened).");
        }

        return (target, now, check);
    }

    /// <summary>The acting element's names as the page shows them now (see marker.js <c>actor</c>).</summary>
    private async Task<IReadOnlyList<string>> ActorNamesAsync(object args)
    {
        JsonElement r = await EvalAsync("actor", args).ConfigureAwait(false);
        return r.TryGetProperty("names", out JsonElement names) ? [.. names.EnumerateArray().Select(x => x.GetString() ?? "")] : [];
    }

    /// <summary>The text to type: line breaks normalised for multi-line fields; other control characters refused.</summary>
    private static string ControlCharacters(string text, bool multiline, WebMark target)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        string lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        char bad = lines.FirstOrDefault(c => char.IsControl(c) && c != '\n');
        if (bad != default)
        {
            throw new WebActionException(
                $"type into {target.Describe()}: the text contains the control character U+{(int)bad:X4}; type plain text only (use press for keys such as Tab).");
        }

        if (!multiline)
        {
            throw new WebActionException(
                $"type into {target.Describe()}: the text contains a line break, which only multi-line fields (textarea, contenteditable) take. Type the text without it; to submit, use press_enter=true or press Enter.");
        }

        return lines;
    }

    private WebObservation RequireCurrent(string observationId, int mark)
    {
        ArgumentNullException.ThrowIfNull(observationId);
        WebObservation? cur = _current;
        if (cur is null || cur.Id != observationId)
        {
            string what = mark >= 0 ? $"Mark {mark} of {Shown(observationId)}" : Shown(observationId);
            string now = cur is null ? "there is no current observation (the page changed)" : $"the current observation is {cur.Id}";
            throw new WebStaleObservationException($"{what} is stale: {now}. Call observe and use the marks of the new observation.");
        }

        return cur;
    }

    private async Task ExpectOkAsync(JsonElement result, string observationId, int mark)
    {
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty("error", out JsonElement error))
        {
            return;
        }

        string why = _redactor.Redact(S(result, "why"));
        switch (error.GetString())
        {
            case "stale":
            case "detached":
                _current = null;
                throw new WebStaleObservationException($"Mark {mark} of {observationId} is stale: {why}. Call observe and use the new marks.");
            default:
                await Task.CompletedTask.ConfigureAwait(false);
                throw new WebActionException($"Mark {mark} of {observationId}: {why}.");
        }
    }

    /// <summary>
    /// Runs an action inside the gate's scope: with <paramref name="askFirst"/>, acting names that read as irreversible
    /// are asked about before anything happens; either way every request the action sets off is judged with them.
    /// </summary>
    private async Task<WebEffect> ActAsync(string description, string? observationId, int? mark, IReadOnlyList<string> actingNames, Func<Task> act,
        CancellationToken cancellationToken, bool askFirst = true)
    {
        cancellationToken.ThrowIfCancellationRequested();
        description = Shown(description);
        var sw = Stopwatch.StartNew();
        var scope = new ActionScope(description, actingNames, Approved: false);
        if (askFirst && RequestGate.ActorReason(actingNames) is { } why)
        {
            // Asked before anything happens: a refusal leaves the page untouched.
            string reason = _redactor.Redact("it acts on " + why);
            (bool ok, string note) = await _requestGate.AskAsync(new WebApprovalRequest(description, reason, "", "", "action"), cancellationToken).ConfigureAwait(false);
            if (!ok)
            {
                string refusal = $"refused {description}: {reason}; {note}";
                lock (_gate)
                {
                    _refused.Add(refusal);
                }

                return new WebEffect { Action = description, Url = Shown(_page.Url), Refused = [refusal], ActMs = sw.Elapsed.TotalMilliseconds };
            }

            scope = scope with { Approved = true };
        }

        int blockedBefore, refusedBefore, dialogsBefore, pagesSeenBefore;
        lock (_gate)
        {
            pagesSeenBefore = _pagesSeen;
            blockedBefore = _blocked.Count;
            refusedBefore = _refused.Count;
            dialogsBefore = _dialogs.Count;
            _newPage = null;
        }

        IPage pageBefore = _page;
        JsonElement before = await StateAsync(observationId, mark, begin: true).ConfigureAwait(false);
        long since;
        lock (_gate)
        {
            since = _requests;
        }

        _scope = scope;
        JsonElement after;
        try
        {
            try
            {
                await act().ConfigureAwait(false);
            }
            catch (PlaywrightException) when (BlockedSince(blockedBefore, refusedBefore))
            {
                // A refused or unapproved navigation surfaces as an aborted one; the effect report says so.
            }

            await SettleAsync(since).ConfigureAwait(false);
            after = await StateAsync(observationId, mark).ConfigureAwait(false);
            if (ReferenceEquals(pageBefore, _page) && Int(after, "opened") > Int(before, "opened") && await WaitForNewPageAsync(pagesSeenBefore).ConfigureAwait(false))
            {
                // The page asked for a tab whose 'page' event arrived after the settle (a loaded machine): report on it.
                after = await StateAsync(observationId, mark).ConfigureAwait(false);
            }
        }
        finally
        {
            _scope = null;
        }

        string? newPage;
        string[] blocked, refused, dialogs;
        lock (_gate)
        {
            blocked = [.. _blocked.Skip(blockedBefore).Select(b => b.ToString())];
            refused = [.. _refused.Skip(refusedBefore)];
            dialogs = [.. _dialogs.Skip(dialogsBefore)];
            newPage = _newPage;
        }

        bool urlChanged = S(before, "url") != S(after, "url");
        if (urlChanged || newPage is not null || !ReferenceEquals(pageBefore, _page))
        {
            // Marks belong to the document they were taken on.
            _current = null;
        }

        string? beforeValue = Str(before, "value"), afterValue = Str(after, "value");
        bool? beforeChecked = Bool(before, "checked"), afterChecked = Bool(after, "checked");
        return new WebEffect
        {
            Action = description,
            Url = Shown(S(after, "url")),
            UrlChanged = urlChanged,
            TitleChanged = S(before, "title") != S(after, "title"),
            Value = afterValue is null ? null : _redactor.Redact(afterValue),
            ValueChanged = !urlChanged && beforeValue != afterValue,
            Checked = afterChecked,
            CheckedChanged = !urlChanged && beforeChecked != afterChecked,
            Focus = _redactor.Redact(S(after, "focus")),
            FocusChanged = S(before, "focus") != S(after, "focus"),
            Mutations = urlChanged ? 0 : Math.Max(0, after.GetProperty("mutations").GetInt32() - before.GetProperty("mutations").GetInt32()),
            NewPage = newPage is null ? null : Shown(newPage),
            Dialogs = [.. dialogs.Select(_redactor.Redact)],
            Blocked = blocked,
            Refused = refused,
            ActMs = sw.Elapsed.TotalMilliseconds,
        };
    }

    /// <summary>
    /// Waits (up to the settle timeout) for the 'page' event of a tab the page asked for, then for its adoption or
    /// refusal; true when it was adopted. Event-driven: the count of pages seen is compared, not a clock polled.
    /// </summary>
    private async Task<bool> WaitForNewPageAsync(int pagesSeenBefore)
    {
        var deadline = TimeSpan.FromMilliseconds(_options.SettleTimeoutMilliseconds);
        var sw = Stopwatch.StartNew();
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                if (_pagesSeen > pagesSeenBefore)
                {
                    break;
                }

                signal = _pageSignal.Task;
            }

            TimeSpan left = deadline - sw.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await signal.WaitAsync(left).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }

        await DrainPendingAsync().ConfigureAwait(false);
        lock (_gate)
        {
            return _newPage is not null;
        }
    }

    private static int Int(JsonElement state, string name) =>
        state.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;

    private bool BlockedSince(int blocked, int refused)
    {
        lock (_gate)
        {
            return _blocked.Count > blocked || _refused.Count > refused;
        }
    }

    private async Task<JsonElement> StateAsync(string? observationId, int? mark, bool begin = false)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await EvalAsync("state", new { id = observationId, mark = mark ?? -1, begin }).ConfigureAwait(false);
            }
            catch (PlaywrightException) when (attempt < 3)
            {
                // The document was replaced mid-call (a navigation); read the new one.
                await WaitForLoadAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Load state, DOM quiet, then the requests started since <paramref name="since"/> and held ones.</summary>
    private async Task SettleAsync(long since)
    {
        await DrainPendingAsync().ConfigureAwait(false);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await WaitForLoadAsync().ConfigureAwait(false);
                await EvalAsync("quiet", new { quietMs = _options.SettleQuietMilliseconds, capMs = _options.SettleTimeoutMilliseconds }).ConfigureAwait(false);
                bool waited = await NetworkIdleAsync(since).ConfigureAwait(false);
                if (!await DrainPendingAsync().ConfigureAwait(false) && !waited)
                {
                    return;
                }

                // Requests were still in flight, or held requests were answered (or dialogs and tabs handled) meanwhile:
                // what they set off settles too.
            }
            catch (PlaywrightException)
            {
                // Execution context destroyed by a navigation that started after the action: wait for it and retry.
            }
        }
    }

    /// <summary>
    /// Waits (up to the settle timeout) until no request is in flight — each redirect hop, refusal and held request has
    /// ended — so the effect report includes them. Event streams and WebSockets are long-lived by design and not waited
    /// for. True when it had to wait.
    /// </summary>
    private async Task<bool> NetworkIdleAsync(long since)
    {
        var sw = Stopwatch.StartNew();
        var cap = TimeSpan.FromMilliseconds(_options.SettleTimeoutMilliseconds);
        bool waited = false;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (!_inflight.Values.Any(n => n > since))
                {
                    return waited;
                }

                changed = _networkSignal.Task;
            }

            TimeSpan left = cap - sw.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return waited;
            }

            waited = true;
            try
            {
                await changed.WaitAsync(left).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return waited;
            }
        }
    }

    private void OnRequest(object? sender, IRequest request)
    {
        if (request.ResourceType is "eventsource" or "websocket")
        {
            return;
        }

        lock (_gate)
        {
            _inflight[request] = ++_requests;
        }
    }

    private void OnRequestEnded(object? sender, IRequest request)
    {
        TaskCompletionSource signal;
        lock (_gate)
        {
            if (!_inflight.Remove(request))
            {
                return;
            }

            signal = _networkSignal;
            _networkSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        signal.TrySetResult();
    }

    private async Task WaitForLoadAsync()
    {
        try
        {
            await _page.WaitForLoadStateAsync(LoadState.Load, new PageWaitForLoadStateOptions { Timeout = _options.SettleTimeoutMilliseconds }).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A page that never finishes loading is still observed as it is.
        }
    }

    /// <summary>Awaits dialogs, tabs, recoveries and held requests in flight; true when there were any.</summary>
    private async Task<bool> DrainPendingAsync()
    {
        bool any = false;
        while (true)
        {
            Task[] pending;
            lock (_gate)
            {
                pending = [.. _pending];
                _pending.Clear();
            }

            if (pending.Length == 0)
            {
                return any;
            }

            any = true;
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    // The marker script (about 48 KB) is sent and parsed only when the document does not hold it yet: every action makes
    // five or six calls, and shipping the whole script each time cost about 8 ms per call.
    /// <remarks>Numbers in <paramref name="args"/> must be <c>double</c> or integers: Playwright serializes a <c>float</c> as <c>{}</c> (<see cref="PageArguments"/> refuses one).</remarks>
    private async Task<JsonElement> EvalAsync(string function, object args)
    {
        PageArguments.Check(function, args);
        JsonElement result = await _page.EvaluateAsync<JsonElement>(
            "(a) => window.__magmaSom ? window.__magmaSom." + function + "(a) : '" + MarkerMissing + "'", args).ConfigureAwait(false);
        return result.ValueKind == JsonValueKind.String && result.GetString() == MarkerMissing
            ? await _page.EvaluateAsync<JsonElement>(Expression(function), args).ConfigureAwait(false)
            : result;
    }

    // For a large result (an observation: every mark's names, states, boxes and contexts): the page returns it as one JSON
    // string. Playwright's own serialization of a returned object visits each value in the page and again in its driver;
    // on twins.html (64 marks in view) that was about 25 of the observation's 37 ms of discovery, against 2-3 ms for
    // JSON.stringify and JsonDocument.Parse (docs/perf.md, "Observe: where the time goes"). The page answers null when it
    // has changed what JSON.stringify does (marker.js, api.json), and the result then comes the old way.
    private async Task<JsonDocument> EvalJsonAsync(string function, object args)
    {
        PageArguments.Check(function, args);
        JsonElement json = await EvalAsync("json", new { fn = function, args }).ConfigureAwait(false);
        if (json.ValueKind != JsonValueKind.String)
        {
            return JsonDocument.Parse((await EvalAsync(function, args).ConfigureAwait(false)).GetRawText());
        }

        try
        {
            return JsonDocument.Parse(json.GetString()!);
        }
        catch (JsonException e)
        {
            throw new WebActionException($"The page's {function} result was not valid JSON: {e.Message}", e);
        }
    }

    private const string MarkerMissing = "__magma_marker_missing__";

    private static string Expression(string function) => "(a) => {\n" + MarkerScript + "\nreturn window.__magmaSom." + function + "(a);\n}";

    private (string Text, bool Secret) SubstituteSecrets(string text)
    {
        bool any = false;
        string result = SecretPlaceholder().Replace(text, m =>
        {
            string key = m.Groups[1].Value;
            if (!_options.Secrets.TryGetValue(key, out string? value))
            {
                throw new WebActionException(
                    $"Secret \"{key}\" is not configured; known secrets: {string.Join(", ", _options.Secrets.Keys)}. Use one of them, or add it to WebSessionOptions.Secrets.");
            }

            any = true;
            return value;
        });
        return (result, any);
    }

    [GeneratedRegex(@"\{\{secret:([A-Za-z0-9_.-]+)\}\}")]
    private static partial Regex SecretPlaceholder();

    private void Attach(IPage page)
    {
        page.Dialog += (_, dialog) =>
        {
            lock (_gate)
            {
                _dialogs.Add($"{dialog.Type}: {Shorten(dialog.Message)}");
                _pending.Add(_options.AcceptDialogs || dialog.Type == DialogType.BeforeUnload ? dialog.AcceptAsync() : dialog.DismissAsync());
            }
        };
        page.FrameNavigated += (_, frame) =>
        {
            string url = frame.Url;
            if (_policy.IsAllowed(url) || url.Length == 0)
            {
                if (frame.ParentFrame is null && url != "about:blank")
                {
                    _lastAllowedUrl = url;
                }

                return;
            }

            // data:/blob:/javascript: documents never go through routing or the proxy, so they are caught here. A refused
            // http(s) request was recorded where it was refused (routing or proxy); only its error page lands here.
            lock (_gate)
            {
                _pending.Add(frame.ParentFrame is null ? RecoverMainFrameAsync(page) : BlankFrameAsync(frame));
            }

            // Recorded after the recovery is pending, so that whoever reacts to the record and then observes waits for it.
            if (!url.StartsWith("chrome-error:", StringComparison.Ordinal) && !url.StartsWith("http", StringComparison.OrdinalIgnoreCase))
            {
                Record(frame.ParentFrame is null ? "navigation" : "frame navigation", url);
            }
        };
    }

    private async Task RecoverMainFrameAsync(IPage page)
    {
        // Back to the last allowed page, by history when the refused document added an entry, else by loading it again
        // (Chromium may replace the entry instead; which one depends on timing, so the outcome is checked, not assumed).
        try
        {
            await page.GoBackAsync(new PageGoBackOptions { WaitUntil = WaitUntilState.Load }).ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
            // No entry to go back to, or it was interrupted: the check below decides.
        }

        string at = page.Url;
        if (_policy.IsAllowed(at) && at != "about:blank")
        {
            return;
        }

        try
        {
            await page.GotoAsync(_lastAllowedUrl ?? "about:blank", new PageGotoOptions { WaitUntil = WaitUntilState.Load }).ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
            await page.GotoAsync("about:blank").ConfigureAwait(false);
        }
    }

    private static async Task BlankFrameAsync(IFrame frame)
    {
        try
        {
            await frame.GotoAsync("about:blank").ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
            // The frame went away; nothing to blank.
        }
    }

    private void OnNewPage(object? sender, IPage page)
    {
        TaskCompletionSource seen;
        lock (_gate)
        {
            if (!ReferenceEquals(page, _page))
            {
                _pending.Add(AdoptAsync(page));
            }

            _pagesSeen++;
            seen = _pageSignal;
            _pageSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        seen.TrySetResult();
    }

    private async Task AdoptAsync(IPage page)
    {
        try
        {
            await page.WaitForLoadStateAsync(LoadState.Load, new PageWaitForLoadStateOptions { Timeout = _options.SettleTimeoutMilliseconds }).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Judge it by the URL it has now.
        }

        // A tab still at about:blank after loading is one whose navigation was refused (or never started): judging it
        // by that URL would adopt an empty page in place of the one the agent was working on.
        if (!_policy.IsAllowed(page.Url) || page.Url == "about:blank")
        {
            Record("popup", page.Url);
            await page.CloseAsync().ConfigureAwait(false);
            return;
        }

        // One active page per session: the new tab becomes it, as a person would follow it.
        Attach(page);
        lock (_gate)
        {
            _page = page;
            _newPage = page.Url;
        }
    }

    private async Task RouteAsync(IRoute route)
    {
        IRequest request = route.Request;
        string url = request.Url;
        bool navigation = request.IsNavigationRequest;
        string channel = navigation ? (IsMainFrame(request) ? "navigation" : "frame navigation") : request.ResourceType;
        LocalSite? site = null;
        if (Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            string origin = OriginPolicy.OriginOf(uri);
            site = _sites.FirstOrDefault(s => string.Equals(s.Origin, origin, StringComparison.OrdinalIgnoreCase));
        }

        if (site is null && !_policy.IsAllowed(url))
        {
            Record(channel, url);
            await RefuseAsync(route, navigation).ConfigureAwait(false);
            return;
        }

        byte[]? body = request.PostDataBuffer;
        Dictionary<string, string> headers = request.Headers;
        if (!await HoldAsync(request.Method, url, headers, body is null ? "" : Encoding.UTF8.GetString(body), channel, navigation).ConfigureAwait(false))
        {
            await RefuseAsync(route, navigation).ConfigureAwait(false);
            return;
        }

        if (site is not null)
        {
            string? file = site.Resolve(uri!);
            await (file is null
                ? route.FulfillAsync(new RouteFulfillOptions { Status = 404, ContentType = "text/plain", Body = "not found" })
                : route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = LocalSite.ContentType(file), BodyBytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false) })).ConfigureAwait(false);
            return;
        }

        // Judged here; the ticket lets the proxy pass this one request without asking again.
        var ticketed = new Dictionary<string, string>(headers, StringComparer.OrdinalIgnoreCase)
        {
            [RoutingTickets.Header] = _tickets.Issue(request.Method, url),
        };
        await route.ContinueAsync(new RouteContinueOptions { Headers = ticketed }).ConfigureAwait(false);
    }

    // A refused navigation gets 204 No Content: Chromium then keeps the current document (no error page, no history
    // entry), so the agent stays where it was. Other requests fail as blocked.
    private static Task RefuseAsync(IRoute route, bool navigation) =>
        navigation ? route.FulfillAsync(new RouteFulfillOptions { Status = 204 }) : route.AbortAsync("blockedbyclient");

    private static bool IsMainFrame(IRequest request)
    {
        try
        {
            return request.Frame.ParentFrame is null;
        }
        catch (PlaywrightException)
        {
            // Requests of service workers have no frame.
            return false;
        }
    }

    /// <summary>An allowed request that reached the proxy: let it pass if routing judged it, else judge it now.</summary>
    private Task<bool> HoldAtProxyAsync(EgressRequest request) =>
        _tickets.Redeem(request.Ticket, request.Method, request.Url)
            ? Task.FromResult(true)
            : HoldAsync(request.Method, request.Url, request.Headers, request.Body, request.Channel, request.Navigation);

    /// <summary>Runs the gate on a request that is about to leave; true lets it go. A held request counts as pending work.</summary>
    private async Task<bool> HoldAsync(string method, string url, IEnumerable<KeyValuePair<string, string>> headers, string body, string channel, bool navigation)
    {
        ActionScope? scope = _scope;
        string? reason = _requestGate.Judge(method, url, headers, body, channel, navigation, scope);
        if (reason is null)
        {
            return true;
        }

        string shownUrl = Shown(url);
        var ask = new WebApprovalRequest(scope?.Description ?? "page", reason, method, shownUrl, channel);
        Task<(bool Approved, string Note)> answer = _requestGate.AskAsync(ask, CancellationToken.None);
        lock (_gate)
        {
            _pending.Add(answer);
        }

        (bool approved, string note) = await answer.ConfigureAwait(false);
        if (!approved)
        {
            lock (_gate)
            {
                _refused.Add($"refused {method.ToUpperInvariant()} {channel} to {shownUrl}: {reason}; {note}");
            }
        }

        return approved;
    }

    private void Record(string kind, string url)
    {
        var e = new BlockedEvent(kind, Shown(url), DateTimeOffset.UtcNow);
        lock (_gate)
        {
            _blocked.Add(e);
        }

        RequestBlocked?.Invoke(this, e);
    }

    /// <summary>Redacted first, then shortened, so that no prefix of a secret survives the cut.</summary>
    private string Shown(string s) => Shorten(_redactor.Redact(s));

    private static RgbImage Mask(RgbImage image, List<MarkBox> boxes)
    {
        byte[] px = image.Span.ToArray();
        foreach (MarkBox b in boxes)
        {
            int x0 = Math.Max(0, (int)MathF.Floor(b.X)), y0 = Math.Max(0, (int)MathF.Floor(b.Y));
            int x1 = Math.Min(image.Width, (int)MathF.Ceiling(b.Right)), y1 = Math.Min(image.Height, (int)MathF.Ceiling(b.Bottom));
            for (int y = y0; y < y1; y++)
            {
                px.AsSpan(((y * image.Width) + x0) * 3, Math.Max(0, x1 - x0) * 3).Fill(MaskGrey);
            }
        }

        return RgbImage.FromPixels(image.Width, image.Height, px);
    }

    /// <summary>The grey that masked passwords and secrets are painted with (all three channels).</summary>
    internal const byte MaskGrey = 0x80;

    private static string LoadScript(string resource)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} is missing; rebuild Magma.Plugins.Web.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    internal static string Shorten(string s) => s.Length <= 200 ? s : string.Concat(s.AsSpan(0, 199), "…");

    private static float F(JsonElement e, string name) => (float)e.GetProperty(name).GetDouble();

    private static string S(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool? Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
}
