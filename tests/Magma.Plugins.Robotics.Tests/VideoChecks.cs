using System.Diagnostics;
using System.Text;
using Magma.Plugins.Robotics.Video;

namespace Magma.Plugins.Robotics.Tests;

internal static class VideoChecks
{
    /// <summary>The first frame of a video, decoded by ffmpeg (camera area only: the caption band is cut off).</summary>
    internal static Magma.Inference.Imaging.RgbImage FirstFrame(string path)
    {
        string ffmpeg = EpisodeVideoWriter.FindFfmpeg() ?? throw new InvalidOperationException("ffmpeg is needed to read the video back (apt-get install -y ffmpeg).");
        string png = Path.ChangeExtension(path, ".first.png");
        var info = new ProcessStartInfo(ffmpeg) { RedirectStandardError = true };
        foreach (string a in new[] { "-v", "error", "-y", "-i", path, "-frames:v", "1", png })
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffmpeg could not read {path}: {errors}");
        return Magma.Inference.Imaging.RgbImage.Load(png);
    }

    /// <summary>Checks the container signature, and with ffprobe (installed with ffmpeg) decodes and counts frames.</summary>
    internal static void AssertValidVideo(string path, int expectedFrames)
    {
        Assert.True(File.Exists(path), $"{path} was not written");
        byte[] head = File.ReadAllBytes(path).AsSpan(0, 12).ToArray();
        if (path.EndsWith(".mp4", StringComparison.Ordinal))
        {
            Assert.Equal("ftyp", Encoding.ASCII.GetString(head, 4, 4));
        }
        else
        {
            Assert.Equal("RIFF", Encoding.ASCII.GetString(head, 0, 4));
            Assert.Equal("AVI ", Encoding.ASCII.GetString(head, 8, 4));
        }

        string? ffmpeg = EpisodeVideoWriter.FindFfmpeg();
        string? ffprobe = ffmpeg is null ? null : Path.Combine(Path.GetDirectoryName(ffmpeg)!, "ffprobe");
        if (ffprobe is null || !File.Exists(ffprobe))
        {
            return;
        }

        var info = new ProcessStartInfo(ffprobe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0", path })
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd();
        string errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffprobe failed on {path}: {errors}");
        Assert.Equal($"256,296,{expectedFrames}", output.Trim());
    }
}
