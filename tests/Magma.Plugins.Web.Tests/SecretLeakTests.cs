using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Observation;
using Microsoft.SemanticKernel;

namespace Magma.Plugins.Web.Tests;

/// <summary>Secrets redacted by value in everything the plugin hands out, and masked wherever a field holds them.</summary>
public sealed class SecretLeakTests
{
    private const string Secret = "Hunter2 s3cret+&";

    private static readonly string[] Forms = [Secret, Uri.EscapeDataString(Secret), System.Net.WebUtility.UrlEncode(Secret), System.Net.WebUtility.HtmlEncode(Secret)];

    private static void NoSecret(string where, string text)
    {
        foreach (string f in Forms)
        {
            Assert.False(text.Contains(f, StringComparison.OrdinalIgnoreCase), $"{where} shows the secret as \"{f}\":\n{text}");
        }
    }

    [Fact]
    public async Task A_get_sign_in_form_puts_the_secret_in_the_url_and_nothing_handed_out_shows_it()
    {
        await using AttackSite site = await AttackSite.StartAsync((_, _) => Task.FromResult(true), new Dictionary<string, string> { ["pw"] = Secret });
        string page = site.Page("signin", """
            <form action="/welcome"><input name="user" aria-label="User" value="ada"> <input name="pw" aria-label="Secret word"> <button>Go</button></form>
            """);
        await site.Session.OpenAsync(page);
        string traces = Directory.CreateTempSubdirectory("magma-trace-").FullName;
        try
        {
            var plugin = new WebPlugin(site.Session, policy: new Scripted()) { TraceRoot = traces };
            Microsoft.SemanticKernel.Kernel kernel = Microsoft.SemanticKernel.Kernel.CreateBuilder().Build();
            kernel.Plugins.AddFromObject(plugin, plugin.Name);
            string result = (await kernel.InvokeAsync(plugin.Name, "do_task", new KernelArguments { ["goal"] = "sign in", ["max_steps"] = 4 })).GetValue<string>()!;

            // The secret really went to the allowed site (approved), in the URL, so every report below had the chance to leak it.
            Assert.Contains(site.Allowed.Log, e => e.StartsWith("GET /welcome?", StringComparison.Ordinal) && e.Contains(Uri.EscapeDataString("Hunter2"), StringComparison.Ordinal));
            Assert.Contains("/welcome", site.Session.Page.Url, StringComparison.Ordinal);
            NoSecret("do_task result", result);
            WebObservation obs = await site.Session.ObserveAsync();
            NoSecret("observation URL", obs.Url);
            NoSecret("mark list", obs.MarkList());
            string observeText = string.Concat((await kernel.InvokeAsync(plugin.Name, "observe")).GetValue<Microsoft.SemanticKernel.ChatCompletion.ChatMessageContentItemCollection>()!.OfType<Microsoft.SemanticKernel.TextContent>().Select(t => t.Text));
            NoSecret("observe", observeText);
            WebEffect back = await site.Session.BackAsync();
            NoSecret("effect", back.ToString());
            foreach (string file in Directory.EnumerateFiles(traces, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".png", StringComparison.Ordinal)))
            {
                NoSecret(Path.GetFileName(file), await File.ReadAllTextAsync(file));
            }

            Assert.Contains(Directory.EnumerateFiles(traces, "step.json", SearchOption.AllDirectories), _ => true);
        }
        finally
        {
            Directory.Delete(traces, recursive: true);
        }
    }

    [Fact]
    public async Task A_field_the_page_re_renders_or_copies_the_secret_into_is_masked_by_value()
    {
        await using AttackSite site = await AttackSite.StartAsync(secrets: new Dictionary<string, string> { ["pw"] = Secret });
        await site.Session.OpenAsync(site.Page("rerender", """
            <div id="box"><input id="pw" aria-label="Pass"></div> <input id="echo" aria-label="Echo"> <textarea id="note" aria-label="Notes"></textarea>
            <script>
            document.getElementById('box').addEventListener('input', function (e) {
              const old = e.target, v = old.value, n = document.createElement('input');
              n.id = 'pw2'; n.setAttribute('aria-label', 'Pass ' + v); n.value = v;
              document.getElementById('echo').value = 'you typed ' + v;
              document.getElementById('note').value = v;
              document.title = 'Hello ' + v;
              if (v === document.body.dataset.full) { old.replaceWith(n); }
            });
            </script>
            """));
        await site.Session.Page.EvaluateAsync("s => { document.body.dataset.full = s; }", Secret);
        WebObservation obs = await site.Session.ObserveAsync();
        await site.Session.TypeAsync(obs.Id, obs.Marks.Single(m => m.Name == "Pass").Id, "{{secret:pw}}");
        WebObservation after = await site.Session.ObserveAsync();
        NoSecret("mark list", after.MarkList());
        NoSecret("title", after.Title);
        Assert.Equal("{{secret:pw}}", after.Marks.Single(m => m.Name.StartsWith("Pass", StringComparison.Ordinal)).Value);
        Assert.Equal(3, after.MaskedBoxes.Count); // the re-rendered field, the echo and the textarea
        foreach (var box in after.MaskedBoxes)
        {
            int y = (int)(box.Y + (box.Height / 2)), x = (int)(box.X + (box.Width / 2));
            int i = ((y * after.Screenshot.Width) + x) * 3;
            Assert.Equal(0x80, after.Screenshot.Span[i]);
            Assert.Equal(0x80, after.Marked.Span[i + 1]);
        }
    }

    /// <summary>Types the secret into the second field, then clicks Go, then done.</summary>
    private sealed class Scripted : IWebPolicy
    {
        private int _step;

        public Task<WebDecision> DecideAsync(WebObservation observation, string goal, IReadOnlyList<string> history, CancellationToken cancellationToken = default)
        {
            int step = _step++;
            WebMark? pw = observation.Marks.FirstOrDefault(m => m.Name == "Secret word");
            WebMark? go = observation.Marks.FirstOrDefault(m => m.Name == "Go");
            return Task.FromResult(step switch
            {
                0 when pw is not null => new WebDecision { Kind = WebDecisionKind.Type, Mark = pw.Id, Value = "{{secret:pw}}", Prompt = "p " + observation.MarkList(), RawAnswer = "a" },
                1 when go is not null => new WebDecision { Kind = WebDecisionKind.Click, Mark = go.Id, Prompt = "p " + observation.MarkList(), RawAnswer = "a" },
                _ => new WebDecision { Kind = WebDecisionKind.Done, Prompt = "p " + observation.Url + observation.MarkList(), RawAnswer = "done " + observation.Url },
            });
        }
    }
}
