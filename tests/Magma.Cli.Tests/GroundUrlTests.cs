using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Magma.Cli.Commands;
using Magma.Inference.Imaging;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.Cli.Tests;

public sealed class GroundUrlTests
{
    private static string FormPage => Path.Combine(Cli.WebPages, "form.html");

    [Fact]
    public async Task Local_page_is_opened_observed_and_grounded_tiny_noise_exits_3()
    {
        CliRun run = await Cli.RunAsync("ground", "-m", Cli.TinyModel, "--url", FormPage, "--max-tokens", "8", "--json", "the email field");

        // Random weights never answer with coordinates: the page was observed, the failure is typed.
        Assert.Equal(3, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement root = doc.RootElement;
        Assert.False(root.GetProperty("found").GetBoolean());
        Assert.Equal(WebPageTarget.LocalOrigin + "/form.html", root.GetProperty("url").GetString());
        Assert.Equal("Sign up", root.GetProperty("title").GetString());
        Assert.True(root.GetProperty("marks").GetInt32() > 3);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("answer").GetString()));
        Assert.StartsWith("magma: no target in the model's answer (", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grounded_mark_is_printed_and_drawn_on_the_set_of_mark_screenshot()
    {
        WebPageTarget page = WebPageTarget.Create(FormPage, [], "800x600");
        await using WebSession session = await WebSession.LaunchAsync(page.SessionOptions);
        await session.OpenAsync(page.Url);
        WebObservation obs = await session.ObserveAsync();
        WebMark mark = obs.Marks[^1];
        (double x, double y) = (mark.PixelBox.X + (mark.PixelBox.Width / 2), mark.PixelBox.Y + (mark.PixelBox.Height / 2));
        var grounding = new WebGrounding(mark, (x, y), $"Mark: {mark.Id}", "prompt", $"MarkLookup -> mark {mark.Id}", 1);
        string outPath = Path.Combine(Path.GetTempPath(), "magma-ground-url-" + Guid.NewGuid().ToString("N") + ".png");
        using var output = new StringWriter();
        using var error = new StringWriter();
        try
        {
            int code = await WebGround.ReportAsync(obs, grounding, [], outPath, json: false, output, error, CancellationToken.None);

            Assert.Equal(0, code);
            Assert.Equal("", error.ToString());
            Assert.Contains($"Target   ({x:F0}, {y:F0}) px; mark {mark.Describe()}", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("Page     Sign up <", output.ToString(), StringComparison.Ordinal);
            RgbImage marked = RgbImage.Load(outPath);
            Assert.Equal((obs.Marked.Width, obs.Marked.Height), (marked.Width, marked.Height));
            int i = (((int)y * marked.Width) + (int)x) * 3;
            Assert.Equal((255, 0, 64), (marked.Span[i], marked.Span[i + 1], marked.Span[i + 2]));
        }
        finally
        {
            File.Delete(outPath);
        }
    }

    [Fact]
    public async Task Json_report_names_the_element_with_its_boxes()
    {
        WebPageTarget page = WebPageTarget.Create(FormPage, [], "800x600");
        await using WebSession session = await WebSession.LaunchAsync(page.SessionOptions);
        await session.OpenAsync(page.Url);
        WebObservation obs = await session.ObserveAsync();
        WebMark mark = obs.Marks[0];
        var grounding = new WebGrounding(mark, (mark.PixelBox.X + 1, mark.PixelBox.Y + 1), "Mark: 0", "prompt", "MarkLookup -> mark 0", 1);
        using var output = new StringWriter();
        using var error = new StringWriter();

        int code = await WebGround.ReportAsync(obs, grounding, ["blocked request to http://x.test/"], null, json: true, output, error, CancellationToken.None);

        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(output.ToString());
        JsonElement root = doc.RootElement;
        Assert.True(root.GetProperty("found").GetBoolean());
        Assert.Equal(mark.PixelBox.X + 1, root.GetProperty("pixel").GetProperty("x").GetDouble(), 3);
        Assert.Equal(mark.Role, root.GetProperty("mark").GetProperty("role").GetString());
        Assert.Equal(mark.Name, root.GetProperty("mark").GetProperty("name").GetString());
        Assert.Equal(mark.PixelBox.Width, root.GetProperty("mark").GetProperty("pixel_box").GetProperty("width").GetSingle(), 3);
        Assert.Equal(obs.Marks.Count, root.GetProperty("marks").GetInt32());
        Assert.Equal("blocked request to http://x.test/", root.GetProperty("blocked")[0].GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("marked").ValueKind);
    }

    [Fact]
    public async Task Http_page_origin_is_allowed_and_other_origins_are_blocked_and_reported()
    {
        // A page on a local HTTP server that also tries to load an image from another origin.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        Task server = ServeAsync(listener, "<html><head><title>Local shop</title></head><body><button>Buy</button><img src=\"http://elsewhere.test/t.png\"></body></html>", stop.Token);
        try
        {
            CliRun run = await Cli.RunAsync("ground", "-m", Cli.TinyModel, "--url", $"http://127.0.0.1:{port}/shop", "--viewport", "640x480", "--max-tokens", "4", "--json", "the buy button");

            Assert.Equal(3, run.ExitCode);
            using JsonDocument doc = JsonDocument.Parse(run.Out);
            Assert.Equal("Local shop", doc.RootElement.GetProperty("title").GetString());
            Assert.Contains(doc.RootElement.GetProperty("blocked").EnumerateArray(), b => b.GetString()!.Contains("elsewhere.test", StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await server.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [Theory]
    [InlineData("--url", "javascript:alert(1)", "only http(s) pages and local .html files")]
    [InlineData("--url", "x.html", "Give exactly one of --image")]
    [InlineData("--viewport", "wide", "--viewport 'wide'")]
    public async Task Bad_url_arguments_are_usage_errors(string option, string value, string message)
    {
        string[] args = option == "--viewport"
            ? ["ground", "-m", Cli.TinyModel, "--url", FormPage, option, value, "x"]
            : value == "x.html" ? ["ground", "-m", Cli.TinyModel, "--image", Cli.Photo, option, value, "x"] : ["ground", "-m", Cli.TinyModel, option, value, "x"];

        CliRun run = await Cli.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_local_page_exits_1_naming_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-page-" + Guid.NewGuid().ToString("N") + ".html");

        CliRun run = await Cli.RunAsync("ground", "-m", Cli.TinyModel, "--url", missing, "x");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains(missing, run.Err, StringComparison.Ordinal);
    }

    /// <summary>A minimal HTTP/1.1 server (the external web site): every request gets the page, or 404 for images.</summary>
    private static async Task ServeAsync(TcpListener listener, string html, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            using TcpClient client = await listener.AcceptTcpClientAsync(ct);
            using NetworkStream stream = client.GetStream();
            var buffer = new byte[8192];
            int read = await stream.ReadAsync(buffer, ct);
            string request = Encoding.ASCII.GetString(buffer, 0, read);
            bool page = !request.Contains("favicon", StringComparison.Ordinal);
            byte[] body = Encoding.UTF8.GetBytes(page ? html : "");
            string head = $"HTTP/1.1 {(page ? "200 OK" : "404 Not Found")}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
            await stream.WriteAsync(body, ct);
        }
    }
}
