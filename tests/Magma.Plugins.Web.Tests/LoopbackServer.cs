using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Magma.Plugins.Web.Tests;

/// <summary>
/// A real HTTP server on a random loopback port (its own origin) that records every accepted TCP connection, every HTTP
/// request (line, headers, body) and every UDP datagram sent to the same port number. Used twice by the attack suite:
/// as the allowed site that serves the attack pages, and as the attacker's second server whose log must stay empty.
/// Bounded (the first 500 entries), and it stops by itself after 10 minutes should a test forget to dispose it.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private const int MaxEntries = 500;
    private readonly TcpListener _tcp;
    private readonly UdpClient _udp;
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(10));
    private readonly List<string> _log = [];
    private readonly HashSet<string> _controls = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Seen)> _waiters = [];
    private readonly Func<Request, Response> _handler;
    private readonly Task _tcpLoop, _udpLoop;

    public sealed record Request(string Method, string Target, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string Path => Target.Split('?')[0];

        public string Query(string name)
        {
            int q = Target.IndexOf('?', StringComparison.Ordinal);
            if (q < 0)
            {
                return "";
            }

            foreach (string part in Target[(q + 1)..].Split('&'))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && part[..eq] == name)
                {
                    return Uri.UnescapeDataString(part[(eq + 1)..]);
                }
            }

            return "";
        }
    }

    public sealed record Response(int Status, string ContentType, string Body, string? Location = null);

    public LoopbackServer(Func<Request, Response>? handler = null)
    {
        _handler = handler ?? (_ => new Response(200, "text/plain", "ok"));
        _tcp = new TcpListener(IPAddress.Loopback, 0);
        _tcp.Start();
        Port = ((IPEndPoint)_tcp.LocalEndpoint).Port;
        _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, Port));
        _tcpLoop = AcceptAsync();
        _udpLoop = ReceiveAsync();
    }

    public int Port { get; }

    public string Origin => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<string> Log
    {
        get { lock (_log) { return [.. _log]; } }
    }

    /// <summary>Resolves when an entry matching <paramref name="match"/> is logged (or already was).</summary>
    public Task WaitForAsync(Func<string, bool> match)
    {
        lock (_log)
        {
            if (_log.Any(match))
            {
                return Task.CompletedTask;
            }

            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((match, tcs));
            return tcs.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>
    /// The positive control: sends a TCP connection with a request and then a UDP datagram of our own, waits until both
    /// are logged, and returns every other entry. Whatever the browser sent before is logged before the control (loopback
    /// completes connections at once and the server accepts and receives in order), so an empty result means nothing came.
    /// </summary>
    public async Task<IReadOnlyList<string>> EverythingButControlAsync(int since = 0)
    {
        string id = Guid.NewGuid().ToString("N");
        using (var client = new TcpClient(AddressFamily.InterNetwork))
        {
            await client.ConnectAsync(IPAddress.Loopback, Port);
            string connection = "tcp " + client.Client.LocalEndPoint;
            lock (_log)
            {
                _controls.Add(connection);
            }

            byte[] request = Encoding.ASCII.GetBytes($"GET /control-{id} HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\r\n");
            await client.GetStream().WriteAsync(request);
            await WaitForAsync(e => e == $"GET /control-{id}");
        }

        using (var udp = new UdpClient())
        {
            await udp.SendAsync(Encoding.ASCII.GetBytes("control-" + id), new IPEndPoint(IPAddress.Loopback, Port));
            await WaitForAsync(e => e == "udp control-" + id);
        }

        lock (_log)
        {
            return [.. _log.Skip(since).Where(e => !_controls.Contains(e) && !e.Contains("control-", StringComparison.Ordinal))];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Stop();
        _udp.Dispose();
        try
        {
            await Task.WhenAll(_tcpLoop, _udpLoop);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopping ends both loops with one of these.
        }

        _stop.Dispose();
    }

    private void Add(string entry)
    {
        lock (_log)
        {
            if (_log.Count < MaxEntries)
            {
                _log.Add(entry);
            }

            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(entry))
                {
                    _waiters[i].Seen.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client = await _tcp.AcceptTcpClientAsync(_stop.Token);
            // Logged in accept order, before anything is read: a connection that never sends a request still shows.
            Add("tcp " + client.Client.RemoteEndPoint);
            _ = ServeAsync(client);
        }
    }

    private async Task ReceiveAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult r = await _udp.ReceiveAsync(_stop.Token);
            string text = Encoding.ASCII.GetString(r.Buffer);
            Add(text.StartsWith("control-", StringComparison.Ordinal) ? "udp " + text : $"udp {r.Buffer.Length} bytes from {r.RemoteEndPoint}");
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                var buffer = new List<byte>();
                byte[] chunk = new byte[8192];
                int headEnd = -1;
                while (headEnd < 0)
                {
                    int read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    buffer.AddRange(chunk.AsSpan(0, read).ToArray());
                    headEnd = IndexOf(buffer, "\r\n\r\n"u8.ToArray());
                }

                string head = Encoding.Latin1.GetString([.. buffer.Take(headEnd)]);
                string[] lines = head.Split("\r\n");
                string[] start = lines[0].Split(' ');
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (string line in lines.Skip(1))
                {
                    int colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0)
                    {
                        headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                    }
                }

                int length = headers.TryGetValue("Content-Length", out string? cl) ? int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture) : 0;
                List<byte> body = [.. buffer.Skip(headEnd + 4)];
                while (body.Count < length)
                {
                    int read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    body.AddRange(chunk.AsSpan(0, read).ToArray());
                }

                var request = new Request(start[0], start.Length > 1 ? start[1] : "", headers, Encoding.UTF8.GetString([.. body]));
                Add($"{request.Method} {request.Target}");
                if (request.Body.Length > 0)
                {
                    Add($"body {request.Body}");
                }

                Response response = _handler(request);
                byte[] payload = Encoding.UTF8.GetBytes(response.Body);
                string reason = response.Status switch { 200 => "OK", 204 => "No Content", 302 => "Found", 307 => "Temporary Redirect", 404 => "Not Found", _ => "Status" };
                string location = response.Location is null ? "" : $"Location: {response.Location}\r\n";
                string responseHead = $"HTTP/1.1 {response.Status} {reason}\r\n{location}Content-Type: {response.ContentType}\r\nContent-Length: {payload.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(responseHead), _stop.Token);
                await stream.WriteAsync(payload, _stop.Token);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The peer went away; what it sent is logged already.
            }
        }
    }

    private static int IndexOf(List<byte> haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}
