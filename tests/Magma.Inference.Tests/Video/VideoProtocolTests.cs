using System.Net;
using System.Net.Sockets;
using Magma.Inference.Video;

namespace Magma.Inference.Tests.Video;

/// <summary>
/// File names that look like ffmpeg protocols (<c>concat:</c>, <c>subfile,</c>, <c>pipe:</c>, <c>data:</c>,
/// <c>http://</c>) are files, and nothing a video refers to can reach the network. The names are relative, as a
/// caller would pass them, so the files live in the current directory (unique names, removed afterwards).
/// </summary>
[Collection(VideoGroup.Name)]
public sealed class VideoProtocolTests(TestVideos videos) : IDisposable
{
    private readonly string _tag = Guid.NewGuid().ToString("N")[..8];
    private readonly List<string> _created = [];

    /// <summary>A 64x48 clip (the 160x120 test clips differ), so the probe shows which file ffprobe really read.</summary>
    private string Decoy => videos.Make($"decoy-{_tag}.mkv", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-c:v", "mpeg4");

    private string Here(string name, string source)
    {
        string full = Path.GetFullPath(name);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.Copy(source, full);
        _created.Add(full);
        return name;
    }

    public static TheoryData<string> ProtocolNames => new()
    {
        "concat:{0}-a.mkv|{0}-b.mkv",
        "subfile,,start,0,end,4000,,:{0}-a.mkv",
        "pipe:{0}",
        "data:{0},AAAA",
        "file:{0}-a.mkv",
        "async:{0}-a.mkv",
    };

    [Theory]
    [MemberData(nameof(ProtocolNames))]
    public async Task A_file_named_like_a_protocol_is_read_as_that_file(string pattern)
    {
        // The protocol's target exists too (a 160x120 clip): ffprobe reading it instead would report 160x120.
        Here($"{_tag}-a.mkv", videos.Mkv);
        Here($"{_tag}-b.mkv", videos.Mkv);
        string name = Here(string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, _tag), Decoy);

        var reader = new VideoReader(new VideoDecoderOptions { KeepDecoderWarm = false });
        VideoInfo info = await reader.ProbeAsync(name);
        Assert.Equal((64, 48, 10), (info.Width, info.Height, info.FrameCount));
        IReadOnlyList<VideoFrame> frames = await reader.SampleAsync(name, new VideoSampling { FrameCount = 2 });
        Assert.All(frames, f => Assert.Equal((64, 48), (f.Image.Width, f.Image.Height)));
        foreach (VideoFrame f in frames)
        {
            f.Dispose();
        }
    }

    [Fact]
    public async Task A_file_named_like_a_url_is_read_locally_and_the_host_receives_nothing()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        // A connection is closed at once, so a probe that fetched the URL fails (instead of waiting for an answer).
        Task<TcpClient> accepted = listener.AcceptTcpClientAsync();
        _ = accepted.ContinueWith(t => t.Result.Dispose(), TaskScheduler.Default);
        string name = $"http://127.0.0.1:{port}/{_tag}.mkv";
        string full = Path.GetFullPath(name);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.Copy(Decoy, full);
        try
        {
            var reader = new VideoReader(new VideoDecoderOptions { KeepDecoderWarm = false });
            VideoInfo info = await reader.ProbeAsync(name);
            Assert.Equal((64, 48), (info.Width, info.Height));
            foreach (VideoFrame f in await reader.SampleAsync(name, new VideoSampling { FrameCount = 2 }))
            {
                f.Dispose();
            }

            // ffprobe and ffmpeg have exited: a connection they made would have been accepted (and closed) by now.
            Assert.False(accepted.IsCompleted || listener.Pending(), "ffmpeg/ffprobe connected to the URL the file name spells");
        }
        finally
        {
            Directory.Delete(Path.GetFullPath("http:"), recursive: true);
        }
    }

    [Fact]
    public async Task A_playlist_inside_a_video_file_cannot_reach_the_network()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        // An HLS playlist with a .mkv name: the hls demuxer is chosen by content and would fetch the segment.
        string playlist = Path.Combine(videos.Root, $"playlist-{_tag}.mkv");
        await File.WriteAllTextAsync(playlist, $"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n");
        var reader = new VideoReader(new VideoDecoderOptions { KeepDecoderWarm = false });

        var e = await Assert.ThrowsAsync<MagmaInputException>(() => reader.ProbeAsync(playlist));
        Assert.Contains(playlist, e.Message, StringComparison.Ordinal);
        var info = new VideoInfo(playlist, 64, 48, 10, 10, TimeSpan.FromSeconds(1));
        await Assert.ThrowsAsync<MagmaInputException>(() => reader.ReadAllAsync(info, playlist, [0], CancellationToken.None));
        Assert.False(listener.Pending(), "ffmpeg/ffprobe fetched a URL named inside the file");
    }

    [Fact]
    public void The_movie_source_gets_a_file_url_and_the_protocol_whitelist()
    {
        string graph = WarmDecoder.Graph("concat:a|b", [0, 3]);
        string expectedFile = WarmDecoder.GraphValue("file:" + Path.GetFullPath("concat:a|b"));
        Assert.StartsWith($"movie=filename={expectedFile}:format_opts=protocol_whitelist=file\\,pipe,trim=", graph, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (string f in _created)
        {
            File.Delete(f);
        }
    }
}
