using System.Net;
using System.Net.Sockets;
using System.Text;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Magma.Plugins.Web.Safety;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Tests;

/// <summary>The safety types on their own: redactor, gate rules, egress proxy (raw sockets, no browser); and kernel errors.</summary>
public sealed class SafetyUnitTests
{
    [Fact]
    public void The_redactor_replaces_every_encoding_of_a_secret_and_refuses_unredactable_ones()
    {
        var r = new SecretRedactor(new Dictionary<string, string> { ["pw"] = "a b&c\"d+é" });
        foreach (string form in new[] { "a b&c\"d+é", Uri.EscapeDataString("a b&c\"d+é"), WebUtility.UrlEncode("a b&c\"d+é"), WebUtility.HtmlEncode("a b&c\"d+é"), Uri.EscapeDataString("a b&c\"d+é").ToLowerInvariant() })
        {
            Assert.Equal("x={{secret:pw}};", r.Redact("x=" + form + ";"));
            Assert.Equal("pw", r.Find("?q=" + form));
        }

        Assert.Null(r.Find("a b&c"));
        Assert.Equal("nothing here", r.Redact("nothing here"));
        Assert.Throws<ArgumentException>(() => new SecretRedactor(new Dictionary<string, string> { ["pin"] = "123" }));
        Assert.Throws<ArgumentException>(() => new SecretRedactor(new Dictionary<string, string> { ["bad name"] = "long enough" }));
    }

    [Theory]
    [InlineData("GET", "http://a.test/products?page=2", "", "navigation", true, false)]
    [InlineData("GET", "http://a.test/img/cart.png", "", "image", false, false)]
    [InlineData("POST", "http://a.test/search", "q=tea", "navigation", true, true)]
    [InlineData("POST", "http://a.test/api/log", "x", "ping", false, true)]
    [InlineData("DELETE", "http://a.test/api/items/3", "", "fetch", false, true)]
    [InlineData("GET", "http://a.test/checkout/pay?confirm=1", "", "navigation", true, true)]
    [InlineData("GET", "http://a.test/api/placeOrder", "", "fetch", false, true)]
    [InlineData("GET", "http://a.test/static/place_order.js", "", "script", false, false)]
    [InlineData("GET", "http://a.test/t?d=hunter2-XYZ", "", "image", false, true)]
    [InlineData("GET", "http://a.test/t?d=hunter2%2DXYZ", "", "image", false, true)]
    public void Gate_rules(string method, string url, string body, string channel, bool navigation, bool held)
    {
        var gate = new RequestGate(new SecretRedactor(new Dictionary<string, string> { ["pw"] = "hunter2-XYZ" }), null);
        Assert.Equal(held, gate.Judge(method, url, [], body, channel, navigation, null) is not null);
    }

    [Fact]
    public void A_secret_in_a_header_is_held_except_in_the_referer()
    {
        var gate = new RequestGate(new SecretRedactor(new Dictionary<string, string> { ["pw"] = "hunter2-XYZ" }), null);
        KeyValuePair<string, string> H(string name, string value) => KeyValuePair.Create(name, value);
        Assert.Contains("X-Token header", gate.Judge("GET", "http://a.test/a.png", [H("Accept", "*/*"), H("X-Token", "hunter2-XYZ")], "", "image", false, null), StringComparison.Ordinal);
        Assert.Contains("Cookie header", gate.Judge("GET", "http://a.test/a.png", [H("Cookie", "k=hunter2%2DXYZ")], "", "image", false, null), StringComparison.Ordinal);
        Assert.Null(gate.Judge("GET", "http://a.test/a.png", [H("Referer", "http://a.test/?pw=hunter2-XYZ")], "", "image", false, null));
    }

    [Fact]
    public void Gate_judges_the_acting_elements_current_names_and_an_approved_action_once()
    {
        var gate = new RequestGate(new SecretRedactor(new Dictionary<string, string>()), null);
        var scope = new ActionScope("click [3] button: Next", ["Next", "Buy now"], Approved: false);
        Assert.Contains("Buy now", gate.Judge("GET", "http://a.test/x", [], "", "navigation", true, scope), StringComparison.Ordinal);
        Assert.Null(gate.Judge("GET", "http://a.test/x.png", [], "", "image", false, scope));
        Assert.Null(gate.Judge("POST", "http://a.test/x", [], "", "navigation", true, scope with { Approved = true }));
        Assert.NotNull(RequestGate.ActorReason(["Sign in"]));
        Assert.Null(RequestGate.ActorReason(["Refresh list", "Search"]));
    }

    [Fact]
    public async Task The_proxy_forwards_allowed_requests_and_refuses_other_origins_tunnels_and_held_ones()
    {
        await using var allowed = new LoopbackServer();
        await using var other = new LoopbackServer();
        var refused = new List<string>();
        bool hold = true;
        await using var proxy = new EgressProxy(new OriginPolicy([allowed.Origin]), (c, u) => { lock (refused) { refused.Add(c + " " + u); } },
            r => Task.FromResult(hold));

        Assert.StartsWith("HTTP/1.1 200", await SendAsync(proxy.Port, $"GET {allowed.Origin}/a?x=%41 HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.Contains("GET /a?x=%41", allowed.Log);
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, $"GET {other.Origin}/steal HTTP/1.1\r\nHost: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 204", await SendAsync(proxy.Port, $"GET {other.Origin}/nav HTTP/1.1\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, $"CONNECT 127.0.0.1:{other.Port} HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 Connection Established", await SendAsync(proxy.Port, $"CONNECT 127.0.0.1:{allowed.Port} HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        hold = false;
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, $"POST {allowed.Origin}/pay HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), StringComparison.Ordinal);
        Assert.DoesNotContain(allowed.Log, e => e.StartsWith("POST", StringComparison.Ordinal));
        Assert.Empty(await other.EverythingButControlAsync());
        Assert.Contains(refused, r => r.EndsWith(other.Origin + "/steal", StringComparison.Ordinal));
        Assert.Contains(refused, r => r == $"navigation {other.Origin}/nav");
        Assert.Contains(refused, r => r.StartsWith("connection", StringComparison.Ordinal) && r.EndsWith($"127.0.0.1:{other.Port}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_routing_ticket_passes_only_its_own_request_once_and_never_travels_upstream()
    {
        var tickets = new RoutingTickets();
        var judged = new List<string>();
        var headers = new List<IReadOnlyDictionary<string, string>>();
        await using var allowed = new LoopbackServer(r =>
        {
            lock (headers)
            {
                headers.Add(r.Headers);
            }

            return new LoopbackServer.Response(200, "text/plain", "ok");
        });
        await using var proxy = new EgressProxy(new OriginPolicy([allowed.Origin]), (_, _) => { },
            r =>
            {
                if (tickets.Redeem(r.Ticket, r.Method, r.Url))
                {
                    return Task.FromResult(true);
                }

                lock (judged)
                {
                    judged.Add(r.Method + " " + r.Url);
                }

                return Task.FromResult(false); // the gate refuses whatever it is asked here
            });

        string url = allowed.Origin + "/pay?x=1";
        string ticket = tickets.Issue("POST", url);
        string Post(string target, string? t) =>
            $"POST {target} HTTP/1.1\r\n{(t is null ? "" : RoutingTickets.Header + ": " + t + "\r\n")}Content-Length: 2\r\n\r\nhi";

        Assert.StartsWith("HTTP/1.1 200", await SendAsync(proxy.Port, Post(url, ticket)), StringComparison.Ordinal);
        // Used up: the same request again (a replay, or a redirect hop that inherited the header) is judged.
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, Post(url, ticket)), StringComparison.Ordinal);
        // Bound to its method and URL: an unused ticket does not pass another request (a routed load served from the
        // cache leaves one behind).
        string unused = tickets.Issue("GET", url);
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, Post(url, unused)), StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, Post(allowed.Origin + "/other", tickets.Issue("POST", url))), StringComparison.Ordinal);
        // Forged by a page: judged.
        Assert.StartsWith("HTTP/1.1 403", await SendAsync(proxy.Port, Post(url, new string('a', 32))), StringComparison.Ordinal);

        Assert.Equal(4, judged.Count);
        Assert.Single(headers);
        Assert.DoesNotContain(headers[0].Keys, k => k.Equals(RoutingTickets.Header, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Kernel_functions_answer_the_models_mistakes_with_errors_instead_of_throwing()
    {
        await using var session = await Pages.LaunchAsync();
        var plugin = new WebPlugin(session);
        Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
        kernel.Plugins.AddFromObject(plugin, plugin.Name);
        async Task<string> Call(string f, KernelArguments a) => (await kernel.InvokeAsync(plugin.Name, f, a)).GetValue<string>()!;
        await session.OpenAsync(Pages.Url("form.html"));
        WebObservation obs = await session.ObserveAsync();
        int field = obs.Marks.First(m => m.Role == "textbox").Id;
        foreach (string key in new[] { "NoSuchKey", " ", "", "Control+", "\n" })
        {
            Assert.StartsWith("ERROR", await Call("press", new KernelArguments { ["key"] = key }), StringComparison.Ordinal);
        }

        Assert.StartsWith("ERROR", await Call("click", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = 999 }), StringComparison.Ordinal);
        Assert.StartsWith("ERROR (stale)", await Call("click", new KernelArguments { ["observation_id"] = "obs-999", ["mark"] = 0 }), StringComparison.Ordinal);
        Assert.StartsWith("ERROR", await Call("type", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = field, ["text"] = "a\tb" }), StringComparison.Ordinal);
        Assert.StartsWith("ERROR", await Call("type", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = field, ["text"] = "{{secret:nope}}" }), StringComparison.Ordinal);
        Assert.StartsWith("ERROR", await Call("scroll", new KernelArguments { ["direction"] = "sideways" }), StringComparison.Ordinal);
        Assert.StartsWith("ERROR (policy)", await Call("open", new KernelArguments { ["url"] = "http://elsewhere.test/" }), StringComparison.Ordinal);
        Assert.StartsWith("ERROR", await Call("open", new KernelArguments { ["url"] = "not a url" }), StringComparison.Ordinal);
    }

    private static async Task<string> SendAsync(int port, string request)
    {
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        byte[] buffer = new byte[4096];
        int read = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
