using System.Diagnostics;
using Magma.Inference.Imaging;

namespace Magma.Plugins.Robotics.Video;

/// <summary>
/// Writes an episode video with the instruction and step overlaid: an H.264 MP4 through Debian's <c>ffmpeg</c>
/// (raw RGB frames through a pipe) when it is installed, else a Motion-JPEG AVI written in-process (no external
/// tool; the file name's extension becomes <c>.avi</c>).
/// </summary>
public sealed class EpisodeVideoWriter : IDisposable
{
    private readonly FrameAnnotator _annotator;
    private readonly Process? _ffmpeg;
    private readonly Stream? _pipe;
    private readonly Task<string>? _stderr;
    private readonly MjpegAviWriter? _avi;
    private bool _finished;

    private EpisodeVideoWriter(string path, FrameAnnotator annotator, Process? ffmpeg, MjpegAviWriter? avi)
    {
        Path = path;
        _annotator = annotator;
        _ffmpeg = ffmpeg;
        _avi = avi;
        if (ffmpeg is not null)
        {
            _pipe = ffmpeg.StandardInput.BaseStream;
            _stderr = ffmpeg.StandardError.ReadToEndAsync();
        }
    }

    /// <summary>The file being written (an <c>.avi</c> when the fallback is used).</summary>
    public string Path { get; }

    /// <summary>Frames added so far.</summary>
    public int FrameCount { get; private set; }

    /// <summary>Whether the video goes through ffmpeg (MP4) rather than the built-in MJPEG AVI writer.</summary>
    public bool UsesFfmpeg => _ffmpeg is not null;

    /// <summary>
    /// The ffmpeg executable used: <c>MAGMA_FFMPEG</c>, else <c>ffmpeg</c> on PATH or in /usr/bin; null when none.
    /// </summary>
    public static string? FindFfmpeg()
    {
        string? configured = Environment.GetEnvironmentVariable("MAGMA_FFMPEG");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        IEnumerable<string> folders = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin");
        return folders.Select(f => System.IO.Path.Combine(f, "ffmpeg")).FirstOrDefault(File.Exists);
    }

    /// <summary>Starts a video of square frames of <paramref name="frameSize"/> pixels (a caption band is added below).</summary>
    /// <param name="path">Target file, normally <c>*.mp4</c>.</param>
    /// <param name="frameSize">Camera frame side.</param>
    /// <param name="fps">Frames per second.</param>
    /// <param name="useFfmpeg">False forces the built-in MJPEG AVI writer.</param>
    /// <param name="label">Written at the right of the caption's second line on every frame (e.g. which view it is).</param>
    public static EpisodeVideoWriter Create(string path, int frameSize, int fps = 30, bool useFfmpeg = true, string? label = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frameSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fps);
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        // H.264 with yuv420p needs even sides.
        var annotator = new FrameAnnotator(frameSize + (frameSize & 1)) { Label = label };
        string? ffmpeg = useFfmpeg ? FindFfmpeg() : null;
        if (ffmpeg is null)
        {
            string avi = System.IO.Path.ChangeExtension(path, ".avi");
            return new EpisodeVideoWriter(avi, annotator, null, new MjpegAviWriter(avi, annotator.Width, annotator.Height, fps));
        }

        var info = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = false,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            // Frames come on the pipe; the target is a file: URL, so a name such as "http://host/x.mp4" or
            // "concat:a|b" is a path and never an ffmpeg protocol.
            "-y", "-loglevel", "error", "-protocol_whitelist", "file,pipe", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", $"{annotator.Width}x{annotator.Height}", "-r", fps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "23",
            "-movflags", "+faststart", "file:" + System.IO.Path.GetFullPath(path),
        })
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info) ?? throw new IOException($"Could not start '{ffmpeg}' to write {path}.");
        return new EpisodeVideoWriter(path, annotator, process, null);
    }

    /// <summary>Appends a frame with the instruction, the step number and an optional status line.</summary>
    public void AddFrame(RgbImage frame, string instruction, int step, string? status = null)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ObjectDisposedException.ThrowIf(_finished, this);
        byte[] rgb = _annotator.Compose(frame, instruction ?? string.Empty, step, status);
        FrameCount++;
        if (_pipe is not null)
        {
            _pipe.Write(rgb);
        }
        else
        {
            RgbImage composed = RgbImage.FromPixels(_annotator.Width, _annotator.Height, [.. rgb]);
            _avi!.AddJpeg(composed.EncodeJpeg(90));
        }
    }

    /// <summary>Closes the video and waits for the encoder.</summary>
    /// <exception cref="IOException">ffmpeg failed; the message has its error output.</exception>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        _annotator.Dispose();
        if (_avi is not null)
        {
            _avi.Dispose();
            return;
        }

        _pipe!.Dispose();
        _ffmpeg!.WaitForExit();
        string errors = _stderr!.GetAwaiter().GetResult();
        int code = _ffmpeg.ExitCode;
        _ffmpeg.Dispose();
        if (code != 0)
        {
            throw new IOException($"ffmpeg exited with {code} writing {Path}: {errors.Trim()}");
        }
    }

    /// <summary>
    /// Stops writing and deletes the file: for an episode that was cancelled or ended before its first frame, which
    /// must leave no empty or truncated video behind.
    /// </summary>
    public void Abort()
    {
        if (!_finished)
        {
            _finished = true;
            _annotator.Dispose();
            if (_avi is not null)
            {
                _avi.Dispose();
            }
            else
            {
                // Killed rather than closed: closing its input would make ffmpeg finalise a file.
                try
                {
                    _ffmpeg!.Kill();
                }
                catch (InvalidOperationException)
                {
                    // It had already exited.
                }

                _ffmpeg!.WaitForExit();
                try
                {
                    _pipe!.Dispose();
                }
                catch (IOException)
                {
                    // The reader is gone; nothing is left to flush.
                }

                _ffmpeg.Dispose();
            }
        }

        File.Delete(Path);
    }

    /// <summary>Finishes the video if <see cref="Finish"/> was not called; an encoder error is then dropped.</summary>
    public void Dispose()
    {
        try
        {
            Finish();
        }
        catch (IOException)
        {
            // Finish reports encoder errors to callers that want them; disposal must not throw.
        }
    }

}
