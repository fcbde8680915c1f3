using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Magma.Plugins.Web.Safety;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Tests;

/// <summary>
/// The approval gate, tried by the bypasses that got past the old kernel filter. The session has no approver, so every
/// request that needs approval must be refused — and the allowed site's own log must show it was never sent.
/// </summary>
public sealed class GateAttackTests
{
    private static WebMark ByName(WebObservation obs, string name) =>
        obs.Marks.FirstOrDefault(m => m.Name == name) ?? throw new Xunit.Sdk.XunitException($"no mark \"{name}\" in:\n{obs.MarkList()}");

    private static async Task<IReadOnlyList<string>> SentSince(AttackSite site, int since) => await site.Allowed.EverythingButControlAsync(since);

    [Fact]
    public async Task Committing_requests_are_held_and_refused_whatever_sets_them_off()
    {
        await using AttackSite site = await AttackSite.StartAsync();
        WebSession s = site.Session;
        string page = site.Page("shop", """
            <form id="order" method="post" action="/order"><input aria-label="Card number" name="card"> <button type="submit">Place order</button></form>
            <form id="step" method="post" action="/step2"><button type="button" id="cont" onclick="document.getElementById('step').submit()">Continue</button></form>
            <form id="hover" method="post" action="/save"><button type="button" id="hv">Next</button></form>
            <a href="/checkout/pay?confirm=1">Review</a>
            <div role="button" tabindex="0" id="ok">OK</div>
            <form id="qty" action="/order"><select name="qty" aria-label="Quantity" onchange="this.form.submit()"><option>1</option><option>2</option></select></form>
            <script>
            document.getElementById('hv').addEventListener('mouseover', function () { this.type = 'submit'; });
            document.getElementById('ok').addEventListener('click', function () { window.DONE = fetch('/api/items/3', { method: 'DELETE' }).catch(function () { return 0; }); });
            </script>
            """);
        await s.OpenAsync(page);
        int start = site.Allowed.Log.Count;

        // Tab to the "Place order" button, then Space: the focused element's current name is judged before the key.
        WebObservation obs = await s.ObserveAsync();
        await s.ClickAsync(obs.Id, ByName(obs, "Card number").Id);
        await s.PressAsync("Tab");
        WebEffect space = await s.PressAsync("Space");
        Assert.NotEmpty(space.Refused);

        // A harmless-sounding button that submits by script (POST), one that turns into a submit button on hover (POST),
        // a link whose URL reads as paying (GET), a div that DELETEs by fetch, a select whose onchange submits to /order.
        foreach (string name in new[] { "Continue", "Next", "Review", "OK" })
        {
            obs = await s.ObserveAsync();
            WebEffect e = await s.ClickAsync(obs.Id, ByName(obs, name).Id);
            Assert.True(e.Refused.Count > 0, $"{name}: {e}");
        }

        if (await s.Page.EvaluateAsync<bool>("() => !!window.DONE"))
        {
            await s.Page.EvaluateAsync("() => window.DONE");
        }

        obs = await s.ObserveAsync();
        WebEffect select = await s.SelectAsync(obs.Id, ByName(obs, "Quantity").Id, "2");
        Assert.True(select.Refused.Count > 0, select.ToString());

        // Line breaks in typed text would submit the form: refused for a single-line field.
        obs = await s.ObserveAsync();
        WebActionException typed = await Assert.ThrowsAsync<WebActionException>(() => s.TypeAsync(obs.Id, ByName(obs, "Card number").Id, "4242\n"));
        Assert.Contains("line break", typed.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<WebActionException>(() => s.TypeAsync(obs.Id, ByName(obs, "Card number").Id, "4242\r"));

        // Enter after typing is judged by the form's submit control ("Place order").
        WebEffect enter = await s.TypeAsync(obs.Id, ByName(obs, "Card number").Id, "4242", pressEnter: true);
        Assert.NotEmpty(enter.Refused);

        IReadOnlyList<string> sent = await SentSince(site, start);
        Assert.DoesNotContain(sent, e => e.StartsWith("POST", StringComparison.Ordinal) || e.StartsWith("DELETE", StringComparison.Ordinal)
            || e.Contains("/checkout/pay", StringComparison.Ordinal) || e.Contains("/order", StringComparison.Ordinal));
        Assert.All(s.Refused, r => Assert.Contains("no approver is configured", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_approved_request_is_sent_and_a_denied_one_is_not()
    {
        bool answer = false;
        var asked = new List<WebApprovalRequest>();
        await using AttackSite site = await AttackSite.StartAsync((r, _) => { lock (asked) { asked.Add(r); } return Task.FromResult(answer); });
        await site.Session.OpenAsync(site.Page("notes", """<form method="post" action="/save"><input aria-label="Note" name="note" value="hi"> <button>Save</button></form>"""));
        int start = site.Allowed.Log.Count;
        WebObservation obs = await site.Session.ObserveAsync();
        WebEffect denied = await site.Session.ClickAsync(obs.Id, ByName(obs, "Save").Id);
        Assert.Single(denied.Refused);
        Assert.DoesNotContain(await SentSince(site, start), e => e.StartsWith("POST", StringComparison.Ordinal));
        WebApprovalRequest request = Assert.Single(asked);
        Assert.Equal("POST", request.Method);
        Assert.Equal("navigation", request.Channel);
        Assert.EndsWith("/save", request.Url, StringComparison.Ordinal);

        answer = true;
        obs = await site.Session.ObserveAsync();
        WebEffect approved = await site.Session.ClickAsync(obs.Id, ByName(obs, "Save").Id);
        Assert.Empty(approved.Refused);
        Assert.Contains(await SentSince(site, start), e => e == "POST /save");
        Assert.True(approved.UrlChanged, approved.ToString());
        // Asked once: routing judged it and its ticket let the proxy pass it without asking again.
        Assert.Equal(2, asked.Count);
    }

    [Fact]
    public async Task A_point_click_of_do_task_on_an_unmarked_buy_button_is_gated()
    {
        await using AttackSite site = await AttackSite.StartAsync();
        await site.Session.OpenAsync(site.Page("unmarked", """
            <div id="buy" style="position:absolute;left:100px;top:100px;width:120px;height:40px;background:#eee">Buy</div>
            <script>document.getElementById('buy').addEventListener('click', function () { location.href = '/cart/buy?item=7'; });</script>
            """));
        int start = site.Allowed.Log.Count;
        var plugin = new WebPlugin(site.Session, policy: new PointThenDone(160, 120));
        Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
        kernel.Plugins.AddFromObject(plugin, plugin.Name);
        string result = (await kernel.InvokeAsync(plugin.Name, "do_task", new KernelArguments { ["goal"] = "buy it", ["max_steps"] = 3 })).GetValue<string>()!;
        Assert.Contains("REFUSED", result, StringComparison.Ordinal);
        Assert.DoesNotContain(await SentSince(site, start), e => e.Contains("/cart/buy", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_carrying_a_secret_is_held_in_any_encoding()
    {
        const string Secret = "p@ss w0rd&x=1";
        await using AttackSite site = await AttackSite.StartAsync(secrets: new Dictionary<string, string> { ["pw"] = Secret });
        await site.Session.OpenAsync(site.Page("track", """
            <input id="pw" aria-label="Pass phrase"> <button id="r">Refresh</button>
            <script>document.getElementById('r').addEventListener('click', function () {
              const v = document.getElementById('pw').value;
              window.DONE = Promise.allSettled([fetch('/track?d=' + encodeURIComponent(v)), fetch('/t2', { method: 'GET', headers: {} }),
                fetch('/track-json?d=' + JSON.stringify({ v: v })), fetch('/track-header', { headers: { 'X-Data': v } })]);
            });</script>
            """));
        int start = site.Allowed.Log.Count;
        WebObservation obs = await site.Session.ObserveAsync();
        await site.Session.TypeAsync(obs.Id, ByName(obs, "Pass phrase").Id, "{{secret:pw}}");
        obs = await site.Session.ObserveAsync();
        WebEffect refresh = await site.Session.ClickAsync(obs.Id, ByName(obs, "Refresh").Id);
        await site.Session.Page.EvaluateAsync("() => window.DONE");
        IReadOnlyList<string> sent = await SentSince(site, start);
        Assert.DoesNotContain(sent, e => e.Contains("/track", StringComparison.Ordinal));
        Assert.Contains(sent, e => e == "GET /t2");
        Assert.Equal(3, site.Session.Refused.Count(r => r.Contains("carries the secret \"pw\"", StringComparison.Ordinal)));
        Assert.DoesNotContain("w0rd", refresh.ToString(), StringComparison.Ordinal);
        Assert.All(site.Session.Refused, r => Assert.DoesNotContain("w0rd", r, StringComparison.Ordinal));
    }

    /// <summary>A scripted policy: one click at a point outside every mark, then done (the grounding fallback path).</summary>
    private sealed class PointThenDone(double x, double y) : IWebPolicy
    {
        private int _step;

        public Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default) =>
            Task.FromResult(_step++ == 0
                ? new WebDecision { Kind = WebDecisionKind.Click, Point = (x, y), Prompt = "", RawAnswer = "", Note = "point" }
                : new WebDecision { Kind = WebDecisionKind.Done, Prompt = "", RawAnswer = "", Note = "done" });
    }
}
