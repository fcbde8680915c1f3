using System.Net;
using System.Net.Sockets;
using Magma.Plugins.Robotics.Video;

namespace Magma.Plugins.Robotics.Tests;

/// <summary>The episode video goes to a file even when its name looks like an ffmpeg protocol or URL.</summary>
public sealed class EpisodeVideoProtocolTests
{
    [Fact]
    public void A_target_named_like_a_url_is_written_locally_and_the_host_receives_nothing()
    {
        Assert.NotNull(EpisodeVideoWriter.FindFfmpeg());
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        // A connection is closed at once, so an ffmpeg that posted to the URL fails instead of waiting.
        Task<TcpClient> accepted = listener.AcceptTcpClientAsync();
        _ = accepted.ContinueWith(t => t.Result.Dispose(), TaskScheduler.Default);
        string name = $"http://127.0.0.1:{port}/episode-{Guid.NewGuid():N}.mp4";
        try
        {
            using (EpisodeVideoWriter writer = EpisodeVideoWriter.Create(name, 256, 10))
            {
                Assert.True(writer.UsesFfmpeg);
                var frame = Magma.Inference.Imaging.RgbImage.FromPixels(256, 256, new byte[256 * 256 * 3]);
                for (int i = 0; i < 3; i++)
                {
                    writer.AddFrame(frame, "open the drawer", i + 1);
                }

                writer.Finish();
            }

            Assert.False(accepted.IsCompleted || listener.Pending(), "ffmpeg connected to the URL the file name spells");
            VideoChecks.AssertValidVideo(Path.GetFullPath(name), expectedFrames: 3);
        }
        finally
        {
            string dir = Path.GetFullPath("http:");
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
