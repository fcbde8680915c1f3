using System.Diagnostics;

namespace Magma.Inference.Tests.Video;

/// <summary>Short videos made with ffmpeg once per test run (ffmpeg is installed by .ci/run).</summary>
public sealed class TestVideos : IDisposable
{
    public TestVideos()
    {
        Directory.CreateDirectory(Root);
        // testsrc draws a frame counter and moving patterns, so every frame differs: 30 frames at 10 fps, 3 s.
        Mp4 = Make("clip.mp4", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "7", "-bf", "2");
        WebM = Make("clip.webm", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p");
        Mkv = Make("clip.mkv", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-c:v", "mpeg4", "-q:v", "3");
        // A red square moving 8 px per frame on grey (overlay counts n from 1): 12 frames at 12 fps; exact palette, no transparency tricks.
        Gif = Make("square.gif", "-f", "lavfi", "-i", "color=c=gray:s=96x64:r=12:d=1", "-f", "lavfi", "-i", "color=c=red:s=16x16:r=12:d=1",
            "-filter_complex", "[0][1]overlay=x=8*n-8:y=20,split[a][b];[a]palettegen=max_colors=8:reserve_transparent=0[p];[b][p]paletteuse=dither=none",
            "-gifflags", "-transdiff", "-gifflags", "-offsetting");
        LongClip = Make("long.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=40", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast");
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "magma-video-tests-" + Guid.NewGuid().ToString("N"));

    public string Mp4 { get; }

    public string WebM { get; }

    public string Mkv { get; }

    public string Gif { get; }

    /// <summary>1000 frames: long enough that a cancelled read is still decoding.</summary>
    public string LongClip { get; }

    public string Make(string name, params string[] args)
    {
        string path = Path.Combine(Root, name);
        Ffmpeg([.. args, "-y", path]);
        return path;
    }

    /// <summary>Writes every frame of <paramref name="video"/> as PNG (frame_000.png ...) with ffmpeg itself.</summary>
    public string[] AllFramesAsPng(string video)
    {
        string dir = Path.Combine(Root, Path.GetFileName(video) + "-png");
        Directory.CreateDirectory(dir);
        Ffmpeg("-i", video, "-fps_mode", "passthrough", "-start_number", "0", "-y", Path.Combine(dir, "frame_%03d.png"));
        return [.. Directory.GetFiles(dir, "frame_*.png").Order(StringComparer.Ordinal)];
    }

    public static void Ffmpeg(params string[] args)
    {
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", .. args])
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffmpeg {string.Join(' ', args)} failed: {err}");
    }

    /// <summary>True when the process has exited and been reaped (nothing left running).</summary>
    public static bool IsGone(int pid)
    {
        try
        {
            using Process p = Process.GetProcessById(pid);
            return p.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class VideoGroup : ICollectionFixture<TestVideos>
{
    public const string Name = "test videos";
}
