using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Magma.Plugins.Web.Safety;

/// <summary>A request that reached the egress proxy and passed the origin check, before anything is forwarded.</summary>
/// <param name="Method">HTTP method (CONNECT for tunnels).</param>
/// <param name="Url">Absolute URL (<c>https://host:port</c> for a tunnel).</param>
/// <param name="Channel">What sent it, as far as the proxy can tell (navigation, fetch/XHR, image, websocket, tunnel, …).</param>
/// <param name="Headers">Its headers as the browser sent them (cookies included).</param>
/// <param name="Body">The request body (plain HTTP only; tunnels are opaque).</param>
/// <param name="Navigation">Whether the browser marked it as a navigation.</param>
/// <param name="Ticket">The <see cref="RoutingTickets.Header"/> value it carried, if any (stripped before forwarding).</param>
internal sealed record EgressRequest(string Method, string Url, string Channel, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body, bool Navigation,
    string? Ticket);

/// <summary>
/// The browser's only route off the machine: an HTTP proxy on a random loopback port that Chromium is launched with
/// (<c>--proxy-server</c>, loopback not bypassed). Every plain-HTTP request (each hop of a redirect chain is a new one),
/// every CONNECT tunnel (https, wss, ws) and every WebSocket upgrade is checked against the <see cref="OriginPolicy"/>
/// before a byte goes upstream; a refused one is answered by the proxy itself (204 for a navigation, so the page stays
/// where it is; 403 otherwise) and reported. Allowed plain-HTTP requests are then offered to the hold callback (the
/// approval gate) with their body, so requests that page routing never sees (redirect hops, workers) are gated too.
/// One request per upstream connection: a kept-alive client connection could otherwise carry a second, unchecked request.
/// </summary>
internal sealed class EgressProxy : IAsyncDisposable
{
    private const int MaxHead = 64 * 1024;
    private const int MaxInspectedBody = 4 * 1024 * 1024;
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    private readonly OriginPolicy _policy;
    private readonly Action<string, string> _refused;
    private readonly Func<EgressRequest, Task<bool>> _hold;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <param name="policy">The allow-list.</param>
    /// <param name="refused">Called with (channel, URL) for each refused request; nothing of it was forwarded.</param>
    /// <param name="hold">Called for each allowed plain-HTTP request before it is forwarded; false aborts it.</param>
    public EgressProxy(OriginPolicy policy, Action<string, string> refused, Func<EgressRequest, Task<bool>> hold)
    {
        _policy = policy;
        _refused = refused;
        _hold = hold;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The loopback port Chromium sends everything to.</summary>
    public int Port { get; }

    /// <summary>The proxy as Chromium's <c>--proxy-server</c> value.</summary>
    public string Address => "http://127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        try
        {
            await _accepting.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping the listener ends the accept loop with one of these.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                client.NoDelay = true;
                await HandleAsync(client.GetStream()).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or FormatException)
            {
                // A connection the browser or the upstream dropped, or garbage on the wire: nothing was forwarded that
                // the checks did not pass, so there is nothing to report.
            }
        }
    }

    private async Task HandleAsync(NetworkStream client)
    {
        CancellationToken ct = _stop.Token;
        (byte[] buffer, int headLength, int filled) = await ReadHeadAsync(client, ct).ConfigureAwait(false);
        if (headLength < 0)
        {
            return;
        }

        string head = Encoding.Latin1.GetString(buffer, 0, headLength);
        string[] lines = head.Split("\r\n");
        string[] start = lines[0].Split(' ');
        if (start.Length != 3)
        {
            await RespondAsync(client, 400, ct).ConfigureAwait(false);
            return;
        }

        string method = start[0], target = start[1], version = start[2];
        var headers = new List<(string Name, string Value)>();
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
        }

        if (method == "CONNECT")
        {
            await TunnelAsync(client, target, buffer.AsMemory(headLength, filled - headLength), ct).ConfigureAwait(false);
            return;
        }

        if (!Uri.TryCreate(target, UriKind.Absolute, out Uri? uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            // Origin-form requests are not proxy requests; nothing else than absolute http:// is expected here.
            _refused("request", target);
            await RespondAsync(client, 400, ct).ConfigureAwait(false);
            return;
        }

        bool upgrade = Header(headers, "Upgrade") is { } up && up.Equals("websocket", StringComparison.OrdinalIgnoreCase);
        bool navigation = IsNavigation(headers);
        string channel = upgrade ? "websocket" : Channel(headers, navigation);
        if (!_policy.IsAllowed(uri.AbsoluteUri))
        {
            _refused(channel, uri.AbsoluteUri);
            // 204 makes Chromium keep the current document for a navigation (no error page, no history entry).
            await RespondAsync(client, navigation && !upgrade ? 204 : 403, ct).ConfigureAwait(false);
            return;
        }

        if (Header(headers, "Transfer-Encoding") is not null)
        {
            // Chromium streams request bodies only over HTTP/2; refusing keeps the body boundary exact.
            _refused(channel + " (chunked request body)", uri.AbsoluteUri);
            await RespondAsync(client, 411, ct).ConfigureAwait(false);
            return;
        }

        long length = long.TryParse(Header(headers, "Content-Length"), out long n) && n >= 0 ? n : 0;
        int buffered = filled - headLength;
        byte[] body = [];
        if (length <= MaxInspectedBody)
        {
            body = new byte[length];
            int have = (int)Math.Min(buffered, length);
            Buffer.BlockCopy(buffer, headLength, body, 0, have);
            await client.ReadExactlyAsync(body.AsMemory(have), ct).ConfigureAwait(false);
        }

        if (!await _hold(new EgressRequest(method, uri.AbsoluteUri, channel, headers.ConvertAll(h => KeyValuePair.Create(h.Name, h.Value)),
            Encoding.UTF8.GetString(body), navigation, Header(headers, RoutingTickets.Header))).ConfigureAwait(false))
        {
            await RespondAsync(client, navigation && !upgrade ? 204 : 403, ct).ConfigureAwait(false);
            return;
        }

        using var upstream = new TcpClient { NoDelay = true };
        await upstream.ConnectAsync(uri.IdnHost, uri.Port, ct).ConfigureAwait(false);
        NetworkStream server = upstream.GetStream();
        var request = new StringBuilder();
        // The path as the browser wrote it (Uri would re-escape it); the authority was checked above.
        int slash = target.IndexOf('/', "http://".Length);
        string path = slash < 0 ? "/" : target[slash..];
        request.Append(method).Append(' ').Append(path).Append(' ').Append(version).Append("\r\n");
        foreach ((string name, string value) in headers)
        {
            if (!name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase) && !name.Equals(RoutingTickets.Header, StringComparison.OrdinalIgnoreCase)
                && !name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && !name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                request.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        request.Append(upgrade ? "Connection: Upgrade\r\n\r\n" : "Connection: close\r\n\r\n");
        await server.WriteAsync(Encoding.Latin1.GetBytes(request.ToString()), ct).ConfigureAwait(false);
        if (length <= MaxInspectedBody)
        {
            await server.WriteAsync(body, ct).ConfigureAwait(false);
        }
        else
        {
            await server.WriteAsync(buffer.AsMemory(headLength, buffered), ct).ConfigureAwait(false);
            await CopyExactlyAsync(client, server, length - buffered, ct).ConfigureAwait(false);
        }

        if (upgrade)
        {
            // The upgraded connection carries WebSocket frames to the checked origin only.
            await PipeAsync(client, server, ct).ConfigureAwait(false);
            return;
        }

        await RelayResponseAsync(server, client, ct).ConfigureAwait(false);
    }

    private async Task TunnelAsync(NetworkStream client, string authority, ReadOnlyMemory<byte> early, CancellationToken ct)
    {
        // CONNECT host:port carries https, wss, and ws through a proxy: allowed when an allowed origin has that host and port.
        if (!Uri.TryCreate("https://" + authority, UriKind.Absolute, out Uri? https) || !Uri.TryCreate("http://" + authority, UriKind.Absolute, out Uri? http)
            || (!_policy.IsAllowed(https.GetLeftPart(UriPartial.Authority)) && !(http.Port == https.Port && _policy.IsAllowed(http.GetLeftPart(UriPartial.Authority)))))
        {
            _refused("connection (https/websocket tunnel)", authority);
            await RespondAsync(client, 403, ct).ConfigureAwait(false);
            return;
        }

        using var upstream = new TcpClient { NoDelay = true };
        await upstream.ConnectAsync(https.IdnHost, https.Port, ct).ConfigureAwait(false);
        NetworkStream server = upstream.GetStream();
        await client.WriteAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
        if (!early.IsEmpty)
        {
            await server.WriteAsync(early, ct).ConfigureAwait(false);
        }

        await PipeAsync(client, server, ct).ConfigureAwait(false);
    }

    private static async Task RelayResponseAsync(NetworkStream server, NetworkStream client, CancellationToken ct)
    {
        (byte[] buffer, int headLength, int filled) = await ReadHeadAsync(server, ct).ConfigureAwait(false);
        if (headLength < 0)
        {
            return;
        }

        // The response is relayed as is, but the client connection closes after it (see the class remarks).
        var head = new StringBuilder();
        foreach (string line in Encoding.Latin1.GetString(buffer, 0, headLength - 4).Split("\r\n"))
        {
            if (!line.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase) && !line.StartsWith("Keep-Alive:", StringComparison.OrdinalIgnoreCase)
                && !line.StartsWith("Proxy-Connection:", StringComparison.OrdinalIgnoreCase))
            {
                head.Append(line).Append("\r\n");
            }
        }

        head.Append("Connection: close\r\nProxy-Connection: close\r\n\r\n");
        await client.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), ct).ConfigureAwait(false);
        await client.WriteAsync(buffer.AsMemory(headLength, filled - headLength), ct).ConfigureAwait(false);
        await server.CopyToAsync(client, ct).ConfigureAwait(false);
    }

    private static async Task PipeAsync(NetworkStream a, NetworkStream b, CancellationToken ct)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task ab = a.CopyToAsync(b, both.Token), ba = b.CopyToAsync(a, both.Token);
        await Task.WhenAny(ab, ba).ConfigureAwait(false);
        await both.CancelAsync().ConfigureAwait(false);
    }

    private static async Task CopyExactlyAsync(Stream from, Stream to, long count, CancellationToken ct)
    {
        byte[] chunk = new byte[81920];
        while (count > 0)
        {
            int read = await from.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, count)), ct).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException("the client closed the connection inside the request body");
            }

            await to.WriteAsync(chunk.AsMemory(0, read), ct).ConfigureAwait(false);
            count -= read;
        }
    }

    /// <summary>Reads until the blank line that ends a head; returns the buffer, the head's length (-1 at EOF or over 64 KiB) and the bytes read.</summary>
    private static async Task<(byte[] Buffer, int HeadLength, int Filled)> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        byte[] buffer = new byte[8192];
        int filled = 0;
        while (true)
        {
            int end = buffer.AsSpan(0, filled).IndexOf(HeadEnd);
            if (end >= 0)
            {
                return (buffer, end + 4, filled);
            }

            if (filled == buffer.Length)
            {
                if (buffer.Length >= MaxHead)
                {
                    return (buffer, -1, filled);
                }

                Array.Resize(ref buffer, buffer.Length * 2);
            }

            int read = await stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (read == 0)
            {
                return (buffer, -1, filled);
            }

            filled += read;
        }
    }

    private static async Task RespondAsync(Stream client, int status, CancellationToken ct)
    {
        string reason = status switch { 204 => "No Content", 400 => "Bad Request", 411 => "Length Required", _ => "Forbidden" };
        string text = status == 204 ? "" : "refused by the Magma egress policy\n";
        string response = $"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {text.Length}\r\nConnection: close\r\nProxy-Connection: close\r\n\r\n{text}";
        await client.WriteAsync(Encoding.ASCII.GetBytes(response), ct).ConfigureAwait(false);
    }

    private static string? Header(List<(string Name, string Value)> headers, string name)
    {
        foreach ((string n, string v) in headers)
        {
            if (n.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }

        return null;
    }

    // Sec-Fetch-* are sent to trustworthy origins (https, loopback); for other http origins a navigation is recognised by
    // Upgrade-Insecure-Requests, which Chromium sends only on navigations.
    private static bool IsNavigation(List<(string Name, string Value)> headers) =>
        Header(headers, "Sec-Fetch-Mode") is { } mode ? mode == "navigate" : Header(headers, "Upgrade-Insecure-Requests") == "1";

    private static string Channel(List<(string Name, string Value)> headers, bool navigation) => Header(headers, "Sec-Fetch-Dest") switch
    {
        "document" => "navigation",
        "iframe" or "frame" => "frame navigation",
        "empty" => "fetch/XHR",
        "worker" or "sharedworker" or "serviceworker" => "worker",
        "websocket" => "websocket",
        { Length: > 0 } dest => "subresource (" + dest + ")",
        _ => navigation ? "navigation" : "request",
    };
}
