using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Safety;

namespace Magma.Plugins.Web.Tests;

/// <summary>
/// The attack set-up: an allowed site (a real loopback server, so its traffic goes through the session's egress proxy
/// like any real site's) serving one page per attack vector, redirects (<c>/r302?to=</c>, <c>/r307?to=</c>) and a worker
/// script; and the attacker's server, another loopback port and so another origin, whose log must stay empty.
/// </summary>
internal sealed class AttackSite : IAsyncDisposable
{
    private readonly Dictionary<string, string> _pages = new(StringComparer.Ordinal);

    private AttackSite()
    {
        Attacker = new LoopbackServer(_ => new LoopbackServer.Response(200, "text/html", "<title>evil</title>leaked"));
        Allowed = new LoopbackServer(Serve);
    }

    public LoopbackServer Allowed { get; }

    public LoopbackServer Attacker { get; }

    public WebSession Session { get; private set; } = null!;

    /// <summary>The attacker's origin, e.g. http://127.0.0.1:41234.</summary>
    public string Evil => Attacker.Origin;

    public static async Task<AttackSite> StartAsync(Func<WebApprovalRequest, CancellationToken, Task<bool>>? approve = null,
        IReadOnlyDictionary<string, string>? secrets = null)
    {
        var site = new AttackSite();
        site.Session = await WebSession.LaunchAsync(new WebSessionOptions
        {
            ViewportWidth = 800,
            ViewportHeight = 600,
            AllowedOrigins = [site.Allowed.Origin],
            Approve = approve,
            Secrets = secrets ?? new Dictionary<string, string>(),
        });
        return site;
    }

    /// <summary>Adds a page; <c>EVIL</c> in its HTML becomes the attacker's origin. Returns its URL.</summary>
    public string Page(string name, string html)
    {
        lock (_pages)
        {
            _pages[name] = "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + name + "</title></head><body>"
                + html.Replace("EVIL", Evil, StringComparison.Ordinal) + "</body></html>";
        }

        return $"{Allowed.Origin}/p/{name}";
    }

    /// <summary>The attacker's log, apart from the control, once a control connection and datagram have arrived.</summary>
    public Task<IReadOnlyList<string>> AttackerLogAsync(int since = 0) => Attacker.EverythingButControlAsync(since);

    /// <summary>Resolves when the session has refused a request whose URL contains <paramref name="url"/>.</summary>
    public Task BlockedAsync(string url)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void On(object? sender, BlockedEvent e)
        {
            if (e.Url.Contains(url, StringComparison.Ordinal))
            {
                seen.TrySetResult();
            }
        }

        Session.RequestBlocked += On;
        if (Session.Blocked.Any(b => b.Url.Contains(url, StringComparison.Ordinal)))
        {
            seen.TrySetResult();
        }

        return seen.Task.WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(t => { Session.RequestBlocked -= On; t.GetAwaiter().GetResult(); }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        if (Session is not null)
        {
            await Session.DisposeAsync();
        }

        await Allowed.DisposeAsync();
        await Attacker.DisposeAsync();
    }

    private LoopbackServer.Response Serve(LoopbackServer.Request r)
    {
        if (r.Path.StartsWith("/p/", StringComparison.Ordinal))
        {
            lock (_pages)
            {
                return _pages.TryGetValue(r.Path[3..], out string? html)
                    ? new LoopbackServer.Response(200, "text/html; charset=utf-8", html)
                    : new LoopbackServer.Response(404, "text/plain", "no such page");
            }
        }

        return r.Path switch
        {
            "/r302" => new LoopbackServer.Response(302, "text/plain", "", r.Query("to")),
            "/r307" => new LoopbackServer.Response(307, "text/plain", "", r.Query("to")),
            "/worker.js" => new LoopbackServer.Response(200, "text/javascript",
                $"Promise.allSettled([fetch('{Evil}/worker-direct'), fetch('/r302?to=' + encodeURIComponent('{Evil}/worker-redirect'))]).then(function () {{ postMessage('done'); }});"),
            _ => new LoopbackServer.Response(200, "text/html", "<title>ok</title>ok"),
        };
    }
}
