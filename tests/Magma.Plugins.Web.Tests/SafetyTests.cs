using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Magma.Plugins.Web.Safety;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Tests;

public sealed class SafetyTests
{
    private static WebMark ByName(WebObservation obs, string name) =>
        obs.Marks.SingleOrDefault(m => m.Name == name) ?? throw new Xunit.Sdk.XunitException($"no mark \"{name}\" in:\n{obs.MarkList()}");

    [Fact]
    public async Task Offsite_navigations_requests_popups_and_data_frames_are_refused_and_reported()
    {
        await using WebSession session = await Pages.LaunchAsync();
        await Assert.ThrowsAsync<WebPolicyException>(() => session.OpenAsync("http://evil.test/"));
        await Assert.ThrowsAsync<WebPolicyException>(() => session.OpenAsync("data:text/html,<b>x</b>"));
        Assert.Contains(session.Blocked, b => b.ToString() == "blocked navigation to http://evil.test/");
        Assert.Contains(session.Blocked, b => b.ToString().StartsWith("blocked navigation to data:text/html", StringComparison.Ordinal));

        await session.OpenAsync(Pages.Url("safety.html"));
        WebObservation obs = await session.ObserveAsync();
        WebEffect link = await session.ClickAsync(obs.Id, ByName(obs, "Offsite link").Id);
        Assert.Contains(link.Blocked, b => b.Contains("evil.test/steal", StringComparison.Ordinal));
        Assert.EndsWith("/safety.html", session.Page.Url, StringComparison.Ordinal);

        obs = await session.ObserveAsync();
        WebEffect fetch = await session.ClickAsync(obs.Id, ByName(obs, "Fetch offsite").Id);
        Assert.Contains(fetch.Blocked, b => b.StartsWith("blocked fetch to http://evil.test/data", StringComparison.Ordinal));
        Assert.Equal("failed", await session.Page.EvaluateAsync<string>("() => window.FETCH_DONE.then(function () { return window.FETCHED; })"));

        WebEffect pop = await session.ClickAsync(obs.Id, ByName(obs, "Open offsite window").Id);
        Assert.Contains(pop.Blocked, b => b.Contains("evil.test/popup", StringComparison.Ordinal));
        Assert.EndsWith("/safety.html", session.Page.Url, StringComparison.Ordinal);
        Assert.Single(session.Page.Context.Pages);

        // A data: frame's document never passes routing or the proxy; its navigation event reports it. The test waits on
        // that event rather than on the click's settle, which a loaded machine can outrun.
        obs = await session.ObserveAsync();
        var dataFrame = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        session.RequestBlocked += (_, e) => { if (e.Kind == "frame navigation" && e.Url.StartsWith("data:", StringComparison.Ordinal)) { dataFrame.TrySetResult(); } };
        await session.ClickAsync(obs.Id, ByName(obs, "Data frame").Id);
        await dataFrame.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains(session.Blocked, b => b.ToString().StartsWith("blocked frame navigation to data:", StringComparison.Ordinal));
        Assert.DoesNotContain((await session.ObserveAsync()).Marks, m => m.Name == "inside data");

        obs = await session.ObserveAsync();
        await session.ClickAsync(obs.Id, ByName(obs, "Data link").Id);
        Assert.EndsWith("/safety.html", session.Page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_are_typed_from_placeholders_and_never_shown()
    {
        var secrets = new Dictionary<string, string> { ["pw"] = "hunter2-XYZ", ["user"] = "ada-secret-login" };
        await using WebSession session = await Pages.LaunchAsync(2f, secrets);
        await session.OpenAsync(Pages.Url("safety.html"));
        WebObservation obs = await session.ObserveAsync();
        WebEffect user = await session.TypeAsync(obs.Id, ByName(obs, "User").Id, "{{secret:user}}");
        WebEffect pw = await session.TypeAsync(obs.Id, ByName(obs, "Password").Id, "{{secret:pw}}");
        Assert.DoesNotContain("ada-secret-login", user.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", pw.ToString(), StringComparison.Ordinal);
        Assert.Equal("hunter2-XYZ", await session.Page.EvaluateAsync<string>("() => document.getElementById('pw').value"));
        Assert.Equal("ada-secret-login", await session.Page.EvaluateAsync<string>("() => document.getElementById('user').value"));
        await Assert.ThrowsAsync<WebActionException>(() => session.TypeAsync(obs.Id, ByName(obs, "User").Id, "{{secret:nope}}"));

        WebObservation after = await session.ObserveAsync();
        Assert.DoesNotContain("hunter2", after.MarkList(), StringComparison.Ordinal);
        Assert.DoesNotContain("ada-secret-login", after.MarkList(), StringComparison.Ordinal);
        Assert.Equal(2, after.MaskedBoxes.Count);
        foreach (var box in after.MaskedBoxes)
        {
            // Every pixel inside the mask is the mask grey in the clean screenshot.
            for (int y = (int)box.Y + 1; y < (int)box.Bottom - 1; y++)
            {
                for (int x = (int)box.X + 1; x < (int)box.Right - 1; x++)
                {
                    int i = ((y * after.Screenshot.Width) + x) * 3;
                    Assert.Equal(0x80, after.Screenshot.Span[i]);
                    Assert.Equal(0x80, after.Screenshot.Span[i + 1]);
                }
            }
        }
    }

    [Fact]
    public async Task Irreversible_actions_need_the_hosts_approval_through_the_kernel_filter()
    {
        await using WebSession session = await Pages.LaunchAsync();
        var plugin = new WebPlugin(session);
        bool answer = false;
        var gate = new WebConfirmationFilter(plugin, (_, _) => Task.FromResult(answer));
        Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
        kernel.Plugins.AddFromObject(plugin, plugin.Name);
        kernel.FunctionInvocationFilters.Add(gate);

        await session.OpenAsync(Pages.Url("safety.html"));
        WebObservation obs = await session.ObserveAsync();
        async Task<string> Click(string name) =>
            (await kernel.InvokeAsync(plugin.Name, "click", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = ByName(obs, name).Id })).GetValue<string>()!;

        string refused = await Click("Delete account");
        Assert.StartsWith("REFUSED", refused, StringComparison.Ordinal);
        Assert.False(await session.Page.EvaluateAsync<bool>("() => window.DELETED"));
        Assert.StartsWith("REFUSED", await Click("Sign in"), StringComparison.Ordinal);
        Assert.False(await session.Page.EvaluateAsync<bool>("() => window.SIGNED_IN"));
        Assert.Equal(2, gate.History.Count);

        // A harmless click is not asked about.
        Assert.DoesNotContain("REFUSED", await Click("Refresh list"), StringComparison.Ordinal);
        Assert.Equal(2, gate.History.Count);

        answer = true;
        Assert.DoesNotContain("REFUSED", await Click("Delete account"), StringComparison.Ordinal);
        Assert.True(await session.Page.EvaluateAsync<bool>("() => window.DELETED"));
        Assert.True(gate.History[^1].Approved);
    }

    private const string EnterPage = """
        <!doctype html><html><head><meta charset="utf-8"><title>Enter</title></head><body>
        <form id="pay"><input id="card" aria-label="Card number"> <textarea id="note" aria-label="Note"></textarea> <button>Pay now</button></form>
        <form id="login"><input id="user" aria-label="User name"> <input type="submit" value="Log in"></form>
        <form id="search"><input id="q" aria-label="Search terms"> <button type="submit">Search</button></form>
        <input id="loose" aria-label="Loose field">
        <script>
        window.SUBMITS = [];
        for (const f of document.forms) f.addEventListener('submit', function (e) { e.preventDefault(); window.SUBMITS.push(f.id); });
        </script></body></html>
        """;

    [Fact]
    public async Task Enter_without_a_mark_is_gated_when_the_focused_field_is_in_a_pay_or_sign_in_form()
    {
        string site = Directory.CreateTempSubdirectory("magma-enter-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(site, "enter.html"), EnterPage);
            await using WebSession session = await WebSession.LaunchAsync(new WebSessionOptions
            {
                LocalSites = new Dictionary<string, string> { ["http://enter.test"] = site },
            });
            var plugin = new WebPlugin(session);
            bool answer = false;
            var gate = new WebConfirmationFilter(plugin, (_, _) => Task.FromResult(answer));
            Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
            kernel.Plugins.AddFromObject(plugin, plugin.Name);
            kernel.FunctionInvocationFilters.Add(gate);
            await session.OpenAsync("http://enter.test/enter.html");

            async Task<string> Call(string function, KernelArguments args) =>
                (await kernel.InvokeAsync(plugin.Name, function, args)).GetValue<string>()!;
            async Task<string> FocusThenEnter(string field)
            {
                WebObservation obs = await session.ObserveAsync();
                await Call("click", new KernelArguments { ["observation_id"] = obs.Id, ["mark"] = ByName(obs, field).Id });
                return await Call("press", new KernelArguments { ["key"] = "Enter" });
            }

            async Task<string> Submits() => string.Join(",", await session.Page.EvaluateAsync<string[]>("() => window.SUBMITS"));

            // Refused: Enter would pay or log in, and nothing was submitted.
            Assert.StartsWith("REFUSED", await FocusThenEnter("Card number"), StringComparison.Ordinal);
            Assert.Contains("Pay now", gate.History[^1].Request.Reason, StringComparison.Ordinal);
            Assert.Equal("press", gate.History[^1].Request.Function);
            Assert.StartsWith("REFUSED", await FocusThenEnter("User name"), StringComparison.Ordinal);
            Assert.Contains("Log in", gate.History[^1].Request.Reason, StringComparison.Ordinal);
            WebObservation o = await session.ObserveAsync();
            Assert.StartsWith("REFUSED", await Call("type", new KernelArguments { ["observation_id"] = o.Id, ["mark"] = ByName(o, "Card number").Id, ["text"] = "4242", ["press_enter"] = true }), StringComparison.Ordinal);
            Assert.Equal("", await Submits());
            Assert.Equal(3, gate.History.Count);

            // Not asked: a search form, a textarea (Enter adds a line), a field outside any form.
            Assert.DoesNotContain("REFUSED", await FocusThenEnter("Search terms"), StringComparison.Ordinal);
            Assert.DoesNotContain("REFUSED", await FocusThenEnter("Note"), StringComparison.Ordinal);
            Assert.DoesNotContain("REFUSED", await FocusThenEnter("Loose field"), StringComparison.Ordinal);
            Assert.Equal("search", await Submits());
            Assert.Equal(3, gate.History.Count);

            // Approved: the same Enter goes through.
            answer = true;
            Assert.DoesNotContain("REFUSED", await FocusThenEnter("Card number"), StringComparison.Ordinal);
            Assert.Equal("search,pay", await Submits());
            Assert.True(gate.History[^1].Approved);
        }
        finally
        {
            Directory.Delete(site, recursive: true);
        }
    }

    [Fact]
    public async Task A_missing_chromium_names_the_path_and_the_package_to_install()
    {
        WebPolicyException ex = await Assert.ThrowsAsync<WebPolicyException>(() =>
            WebSession.LaunchAsync(new WebSessionOptions { ExecutablePath = "/nonexistent/chromium" }));
        Assert.Contains("\"/nonexistent/chromium\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y chromium", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MAGMA_CHROMIUM", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Origin_policy_refuses_other_schemes_and_origins()
    {
        var p = new OriginPolicy(["https://shop.example", "http://localhost:5000"]);
        Assert.True(p.IsAllowed("https://shop.example/cart?x=1"));
        Assert.True(p.IsAllowed("http://localhost:5000/"));
        Assert.True(p.IsAllowed("about:blank"));
        Assert.False(p.IsAllowed("http://shop.example/"));
        Assert.False(p.IsAllowed("http://localhost:5001/"));
        Assert.False(p.IsAllowed("data:text/html,hi"));
        Assert.False(p.IsAllowed("blob:https://shop.example/1"));
        Assert.False(p.IsAllowed("javascript:alert(1)"));
        Assert.False(p.IsAllowed("file:///etc/passwd"));
        Assert.Throws<ArgumentException>(() => new OriginPolicy(["shop.example"]));
    }
}
