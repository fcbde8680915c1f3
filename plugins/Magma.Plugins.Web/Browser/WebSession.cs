using System.Diagnostics;
using System.Globalization;
using System.Reflection;
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
/// real mouse and keyboard input, re-validating each target first. Every request, navigation and pop-up passes the
/// origin allow-list. Not thread-safe: one agent drives one session.
/// </summary>
public sealed partial class WebSession : IAsyncDisposable
{
    private static readonly string MarkerScript = LoadMarkerScript();
    private static readonly SetOfMarkRenderer Renderer = new();

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly IBrowserContext _context;
    private readonly WebSessionOptions _options;
    private readonly OriginPolicy _policy;
    private readonly List<LocalSite> _sites;
    private readonly List<BlockedEvent> _blocked = [];
    private volatile string? _lastAllowedUrl; // the main frame's last allowed page: where a refused navigation returns
    private readonly List<string> _dialogs = [];
    private readonly List<Task> _pending = [];
    private readonly Lock _gate = new();
    private IPage _page;
    private WebObservation? _current;
    private int _sequence;
    private string? _newPage;

    private WebSession(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, WebSessionOptions options,
        OriginPolicy policy, List<LocalSite> sites)
    {
        _playwright = playwright;
        _browser = browser;
        _context = context;
        _page = page;
        _options = options;
        _policy = policy;
        _sites = sites;
    }

    /// <summary>The active page (for hosts and harnesses that read page state, e.g. a task's reward).</summary>
    public IPage Page => _page;

    /// <summary>The options the session was launched with.</summary>
    public WebSessionOptions Options => _options;

    /// <summary>The allow-list in force (the configured origins plus the local sites).</summary>
    public OriginPolicy Policy => _policy;

    /// <summary>Chromium's version string, logged because a non-bundled browser is "use at your own risk".</summary>
    public string BrowserVersion => _browser.Version;

    /// <summary>The current observation, or null when there is none or the page changed under it.</summary>
    public WebObservation? Current => _current;

    /// <summary>Everything the allow-list refused so far.</summary>
    public IReadOnlyList<BlockedEvent> Blocked
    {
        get { lock (_gate) { return [.. _blocked]; } }
    }

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
        cancellationToken.ThrowIfCancellationRequested();

        IPlaywright playwright = await Playwright.CreateAsync().ConfigureAwait(false);
        IBrowser? browser = null;
        try
        {
            var args = new List<string>
            {
                "--disable-background-networking", "--disable-component-update", "--disable-default-apps", "--disable-sync",
                "--no-first-run", "--disable-dev-shm-usage", "--mute-audio", "--disable-features=Translate,MediaRouter",
            };
            if (Environment.UserName == "root")
            {
                args.Add("--no-sandbox");
            }

            args.AddRange(options.ExtraArguments);
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
            IPage page = await context.NewPageAsync().ConfigureAwait(false);
            var session = new WebSession(playwright, browser, context, page, options, policy, sites);
            await context.RouteAsync("**/*", session.RouteAsync).ConfigureAwait(false);
            context.Page += session.OnNewPage;
            session.Attach(page);
            return session;
        }
        catch
        {
            if (browser is not null)
            {
                await browser.CloseAsync().ConfigureAwait(false);
            }

            playwright.Dispose();
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
                $"open(\"{Shorten(url)}\") refused: its origin is not allowed. Allowed: {string.Join(", ", _policy.Origins)}. Add it to WebSessionOptions.AllowedOrigins if it is safe.");
        }

        return await ActAsync($"open {Shorten(url)}", null, null, async () =>
        {
            await _page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load }).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes an observation: finds the interactive elements, screenshots the viewport, masks secrets and draws the marks.
    /// The new observation replaces the previous one, whose marks become stale.
    /// </summary>
    public async Task<WebObservation> ObserveAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await DrainPendingAsync().ConfigureAwait(false);
        string id = "obs-" + (++_sequence).ToString(CultureInfo.InvariantCulture);
        var sw = Stopwatch.StartNew();
        JsonElement raw = await EvalAsync("observe", new { id }).ConfigureAwait(false);
        double discover = sw.Elapsed.TotalMilliseconds;

        sw.Restart();
        byte[] png = await _page.ScreenshotAsync(new PageScreenshotOptions
        {
            Type = ScreenshotType.Png,
            Animations = ScreenshotAnimations.Disabled,
            Caret = ScreenshotCaret.Hide,
            Scale = ScreenshotScale.Device,
        }).ConfigureAwait(false);
        RgbImage shot = RgbImage.Decode(png, sourceName: "viewport screenshot");
        double screenshot = sw.Elapsed.TotalMilliseconds;

        sw.Restart();
        int vw = raw.GetProperty("vw").GetInt32(), vh = raw.GetProperty("vh").GetInt32();
        float dsf = (float)shot.Width / vw;
        var marks = new List<WebMark>();
        int n = 0;
        foreach (JsonElement e in raw.GetProperty("elements").EnumerateArray())
        {
            var css = new MarkBox(F(e, "x"), F(e, "y"), F(e, "w"), F(e, "h"));
            marks.Add(new WebMark
            {
                Id = n++,
                Role = S(e, "role"),
                Name = S(e, "name"),
                Tag = S(e, "tag"),
                Type = S(e, "type"),
                Value = e.GetProperty("value").ValueKind == JsonValueKind.String ? e.GetProperty("value").GetString() : null,
                Masked = e.GetProperty("masked").GetBoolean(),
                Checked = e.GetProperty("checked").ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetProperty("checked").GetBoolean() : null,
                Href = S(e, "href"),
                CssBox = css,
                PixelBox = new MarkBox(css.X * dsf, css.Y * dsf, css.Width * dsf, css.Height * dsf),
                FramePath = S(e, "frame"),
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

        RgbImage clean = masks.Count == 0 ? shot : Mask(shot, masks);
        SetOfMarkResult drawn = Renderer.Draw(clean, [.. marks.Select(m => m.PixelBox)]);
        double draw = sw.Elapsed.TotalMilliseconds;

        var observation = new WebObservation(id, S(raw, "url"), S(raw, "title"), vw, vh, dsf, clean, drawn.Image, marks, masks,
            new ObserveTimings(discover, screenshot, draw));
        _current = observation;
        return observation;
    }

    /// <summary>Clicks a mark at its centre with the mouse.</summary>
    /// <exception cref="WebStaleObservationException">The observation is not current, or the target moved or is covered.</exception>
    public Task<WebEffect> ClickAsync(string observationId, int mark, CancellationToken cancellationToken = default) =>
        OnMarkAsync(observationId, mark, "click", async box =>
        {
            (float x, float y) = box.Center;
            await _page.Mouse.ClickAsync(x, y).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Moves the mouse over a mark.</summary>
    public Task<WebEffect> HoverAsync(string observationId, int mark, CancellationToken cancellationToken = default) =>
        OnMarkAsync(observationId, mark, "hover", async box =>
        {
            (float x, float y) = box.Center;
            await _page.Mouse.MoveAsync(x, y).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Clicks a mark, replaces its content with <paramref name="text"/> (typed key by key) and optionally presses Enter.
    /// <c>{{secret:NAME}}</c> placeholders are replaced by <see cref="WebSessionOptions.Secrets"/>; such fields are then
    /// masked in screenshots and never reported.
    /// </summary>
    public Task<WebEffect> TypeAsync(string observationId, int mark, string text, bool pressEnter = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        (string actual, bool secret) = SubstituteSecrets(text);
        string shown = secret ? text : Shorten(text);
        return OnMarkAsync(observationId, mark, $"type \"{shown}\"{(pressEnter ? " + Enter" : "")} into", async box =>
        {
            (float x, float y) = box.Center;
            await _page.Mouse.ClickAsync(x, y).ConfigureAwait(false);
            await ExpectOkAsync(await EvalAsync("focusSelect", new { id = observationId, mark }).ConfigureAwait(false), observationId, mark).ConfigureAwait(false);
            if (secret)
            {
                await EvalAsync("markSecret", new { id = observationId, mark }).ConfigureAwait(false);
            }

            await _page.Keyboard.PressAsync("Delete").ConfigureAwait(false);
            await _page.Keyboard.TypeAsync(actual).ConfigureAwait(false);
            if (pressEnter)
            {
                await _page.Keyboard.PressAsync("Enter").ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>Selects the option of a <c>&lt;select&gt;</c> mark whose label matches best (exact, case-insensitive, containment).</summary>
    public Task<WebEffect> SelectAsync(string observationId, int mark, string option, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(option);
        return OnMarkAsync(observationId, mark, $"select \"{Shorten(option)}\" in", async _ =>
        {
            await ExpectOkAsync(await EvalAsync("select", new { id = observationId, mark, label = option }).ConfigureAwait(false), observationId, mark).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Scrolls the window by 80 % of the viewport (direction "down" or "up"), or — with a mark — the nearest scrollable
    /// container of that mark.
    /// </summary>
    public async Task<WebEffect> ScrollAsync(string direction, string? observationId = null, int? mark = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(direction);
        int sign = direction.Trim().ToUpperInvariant() switch
        {
            "DOWN" => 1,
            "UP" => -1,
            _ => throw new WebActionException($"scroll direction \"{direction}\" is not supported; use \"down\" or \"up\"."),
        };
        int dy = sign * (int)(_options.ViewportHeight * 0.8);
        if (observationId is not null && mark is int m)
        {
            return await OnMarkAsync(observationId, m, $"scroll {direction} at", async _ =>
            {
                await ExpectOkAsync(await EvalAsync("scroll", new { id = observationId, mark = m, dy }).ConfigureAwait(false), observationId, m).ConfigureAwait(false);
            }, cancellationToken, requireHit: false).ConfigureAwait(false);
        }

        return await ActAsync($"scroll {direction}", null, null, async () =>
        {
            await EvalAsync("scroll", new { id = (string?)null, dy }).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Presses a key or chord on the focused element (Playwright key names: Enter, Tab, Escape, Control+A…).</summary>
    public Task<WebEffect> PressAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return ActAsync($"press {key}", null, null, () => _page.Keyboard.PressAsync(key), cancellationToken);
    }

    /// <summary>
    /// What Enter would act on: the focused element (no mark) or a mark of the current observation, and the form it
    /// belongs to. Null when the mark is stale or gone (the action itself reports that).
    /// </summary>
    internal async Task<EnterTarget?> EnterTargetAsync(string? observationId = null, int? mark = null)
    {
        JsonElement r = await EvalAsync("enterTarget", observationId is null ? new { } : new { id = observationId, mark }).ConfigureAwait(false);
        if (r.TryGetProperty("error", out _))
        {
            return null;
        }

        static string Str(JsonElement e, string p) => e.TryGetProperty(p, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        return new EnterTarget(
            Str(r, "element"),
            r.GetProperty("inForm").GetBoolean(),
            Str(r, "own"),
            r.TryGetProperty("submits", out JsonElement subs) ? [.. subs.EnumerateArray().Select(x => x.GetString() ?? "")] : [],
            Str(r, "formLabel"),
            r.TryGetProperty("password", out JsonElement pw) && pw.GetBoolean());
    }

    /// <summary>Goes back in history.</summary>
    public Task<WebEffect> BackAsync(CancellationToken cancellationToken = default) =>
        ActAsync("go back", null, null, () => _page.GoBackAsync(new PageGoBackOptions { WaitUntil = WaitUntilState.Load }), cancellationToken);

    /// <summary>Waits (capped at 10 s), then lets the page settle.</summary>
    public Task<WebEffect> WaitAsync(int milliseconds, CancellationToken cancellationToken = default) =>
        ActAsync($"wait {milliseconds} ms", null, null, () => Task.Delay(Math.Clamp(milliseconds, 0, 10_000), cancellationToken), cancellationToken);

    /// <summary>
    /// Clicks a point given in screenshot pixels of an observation (the grounding fallback when the model's point lies
    /// outside every mark). The point must still hit the same element it hit in that observation's page.
    /// </summary>
    public Task<WebEffect> ClickPointAsync(string observationId, double pixelX, double pixelY, CancellationToken cancellationToken = default)
    {
        WebObservation obs = RequireCurrent(observationId, -1);
        float x = (float)(pixelX / obs.DeviceScaleFactor), y = (float)(pixelY / obs.DeviceScaleFactor);
        if (x < 0 || y < 0 || x >= obs.ViewportWidth || y >= obs.ViewportHeight)
        {
            throw new WebActionException($"click point ({pixelX:0.#}, {pixelY:0.#}) px is outside the {obs.Screenshot.Width}x{obs.Screenshot.Height} screenshot of {observationId}.");
        }

        return ActAsync($"click point ({x:0.#}, {y:0.#})", null, null, () => _page.Mouse.ClickAsync(x, y), cancellationToken);
    }

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
    }

    private async Task<WebEffect> OnMarkAsync(string observationId, int mark, string verb, Func<MarkBox, Task> act,
        CancellationToken cancellationToken, bool requireHit = true)
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

        return await ActAsync($"{verb} {target.Describe()}", observationId, mark, () => act(now), cancellationToken).ConfigureAwait(false);
    }

    private WebObservation RequireCurrent(string observationId, int mark)
    {
        ArgumentNullException.ThrowIfNull(observationId);
        WebObservation? cur = _current;
        if (cur is null || cur.Id != observationId)
        {
            string what = mark >= 0 ? $"Mark {mark} of {observationId}" : observationId;
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

        string why = S(result, "why");
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

    private async Task<WebEffect> ActAsync(string description, string? observationId, int? mark, Func<Task> act, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var sw = Stopwatch.StartNew();
        int blockedBefore, dialogsBefore;
        lock (_gate)
        {
            blockedBefore = _blocked.Count;
            dialogsBefore = _dialogs.Count;
            _newPage = null;
        }

        IPage pageBefore = _page;
        JsonElement before = await StateAsync(observationId, mark).ConfigureAwait(false);
        try
        {
            await act().ConfigureAwait(false);
        }
        catch (PlaywrightException) when (BlockedSince(blockedBefore))
        {
            // A refused navigation surfaces as net::ERR_BLOCKED_BY_CLIENT; the effect report says so.
        }

        await SettleAsync().ConfigureAwait(false);
        JsonElement after = await StateAsync(observationId, mark).ConfigureAwait(false);
        if (ReferenceEquals(pageBefore, _page) && Int(after, "opened") > Int(before, "opened") && await WaitForNewPageAsync().ConfigureAwait(false))
        {
            // The page asked for a tab whose 'page' event arrived after the settle (a loaded machine): report on it.
            after = await StateAsync(observationId, mark).ConfigureAwait(false);
        }

        string? newPage;
        string[] blocked, dialogs;
        lock (_gate)
        {
            blocked = [.. _blocked.Skip(blockedBefore).Select(b => b.ToString())];
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
            Url = S(after, "url"),
            UrlChanged = urlChanged,
            TitleChanged = S(before, "title") != S(after, "title"),
            Value = afterValue,
            ValueChanged = !urlChanged && beforeValue != afterValue,
            Checked = afterChecked,
            CheckedChanged = !urlChanged && beforeChecked != afterChecked,
            Focus = S(after, "focus"),
            FocusChanged = S(before, "focus") != S(after, "focus"),
            Mutations = urlChanged ? 0 : Math.Max(0, after.GetProperty("mutations").GetInt32() - before.GetProperty("mutations").GetInt32()),
            NewPage = newPage,
            Dialogs = dialogs,
            Blocked = blocked,
            ActMs = sw.Elapsed.TotalMilliseconds,
        };
    }

    /// <summary>Waits up to the settle timeout for a requested tab to be adopted (or refused); true when one was adopted.</summary>
    private async Task<bool> WaitForNewPageAsync()
    {
        var sw = Stopwatch.StartNew();
        int refused;
        lock (_gate)
        {
            refused = _blocked.Count;
        }

        while (sw.ElapsedMilliseconds < _options.SettleTimeoutMilliseconds)
        {
            await DrainPendingAsync().ConfigureAwait(false);
            lock (_gate)
            {
                if (_newPage is not null)
                {
                    return true;
                }

                if (_blocked.Count > refused)
                {
                    return false;
                }
            }

            await Task.Delay(25).ConfigureAwait(false);
        }

        return false;
    }

    private static int Int(JsonElement state, string name) =>
        state.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;

    private bool BlockedSince(int count)
    {
        lock (_gate)
        {
            return _blocked.Count > count;
        }
    }

    private async Task<JsonElement> StateAsync(string? observationId, int? mark)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await EvalAsync("state", new { id = observationId, mark = mark ?? -1 }).ConfigureAwait(false);
            }
            catch (PlaywrightException) when (attempt < 3)
            {
                // The document was replaced mid-call (a navigation); read the new one.
                await WaitForLoadAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task SettleAsync()
    {
        await DrainPendingAsync().ConfigureAwait(false);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await WaitForLoadAsync().ConfigureAwait(false);
                await EvalAsync("quiet", new { quietMs = _options.SettleQuietMilliseconds, capMs = _options.SettleTimeoutMilliseconds }).ConfigureAwait(false);
                await DrainPendingAsync().ConfigureAwait(false);
                return;
            }
            catch (PlaywrightException)
            {
                // Execution context destroyed by a navigation that started after the action: wait for it and retry.
            }
        }
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

    private async Task DrainPendingAsync()
    {
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
                return;
            }

            await Task.WhenAll(pending).ConfigureAwait(false);
        }
    }

    private async Task<JsonElement> EvalAsync(string function, object args)
    {
        string expression = "(a) => {\n" + MarkerScript + "\nreturn window.__magmaSom." + function + "(a);\n}";
        return await _page.EvaluateAsync<JsonElement>(expression, args).ConfigureAwait(false);
    }

    private (string Text, bool Secret) SubstituteSecrets(string text)
    {
        bool any = false;
        string result = SecretPlaceholder().Replace(text, m =>
        {
            string key = m.Groups[1].Value;
            if (!_options.Secrets.TryGetValue(key, out string? value))
            {
                throw new WebActionException(
                    $"Secret \"{key}\" is not configured; known secrets: {string.Join(", ", _options.Secrets.Keys)}. Add it to WebSessionOptions.Secrets.");
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

            // data:/blob:/javascript: and error pages never go through routing, so they are caught here.
            if (!url.StartsWith("chrome-error:", StringComparison.Ordinal))
            {
                Record(frame.ParentFrame is null ? "navigation" : "frame navigation", url);
            }

            lock (_gate)
            {
                _pending.Add(frame.ParentFrame is null ? RecoverMainFrameAsync(page) : BlankFrameAsync(frame));
            }
        };
    }

    private async Task RecoverMainFrameAsync(IPage page)
    {
        try
        {
            IResponse? back = await page.GoBackAsync(new PageGoBackOptions { WaitUntil = WaitUntilState.Load, Timeout = 5000 }).ConfigureAwait(false);
            if (back is null && page.Url.Length > 0 && !page.Url.StartsWith("http", StringComparison.Ordinal))
            {
                // The refused page replaced its history entry (timing-dependent in Chromium): reload the last allowed page
                // rather than leave the agent on an error page or a blank one.
                await page.GotoAsync(_lastAllowedUrl ?? "about:blank").ConfigureAwait(false);
            }
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
        lock (_gate)
        {
            if (!ReferenceEquals(page, _page))
            {
                _pending.Add(AdoptAsync(page));
            }
        }
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
        string url = route.Request.Url;
        if (Uri.TryCreate(url, UriKind.Absolute, out Uri? uri))
        {
            string origin = OriginPolicy.OriginOf(uri);
            LocalSite? site = _sites.FirstOrDefault(s => string.Equals(s.Origin, origin, StringComparison.OrdinalIgnoreCase));
            if (site is not null)
            {
                string? file = site.Resolve(uri);
                await (file is null
                    ? route.FulfillAsync(new RouteFulfillOptions { Status = 404, ContentType = "text/plain", Body = "not found" })
                    : route.FulfillAsync(new RouteFulfillOptions { Status = 200, ContentType = LocalSite.ContentType(file), BodyBytes = await File.ReadAllBytesAsync(file).ConfigureAwait(false) })).ConfigureAwait(false);
                return;
            }
        }

        if (_policy.IsAllowed(url))
        {
            await route.ContinueAsync().ConfigureAwait(false);
            return;
        }

        Record(route.Request.IsNavigationRequest ? "navigation" : "request", url);
        await route.AbortAsync("blockedbyclient").ConfigureAwait(false);
    }

    private void Record(string kind, string url)
    {
        lock (_gate)
        {
            _blocked.Add(new BlockedEvent(kind, Shorten(url), DateTimeOffset.UtcNow));
        }
    }

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

    private static string LoadMarkerScript()
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Magma.Plugins.Web.marker.js")
            ?? throw new InvalidOperationException("Embedded resource Magma.Plugins.Web.marker.js is missing; rebuild Magma.Plugins.Web.");
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
