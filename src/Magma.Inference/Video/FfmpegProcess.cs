using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace Magma.Inference.Video;

/// <summary>
/// One ffmpeg/ffprobe child process: stdout is read by the caller, stderr is pumped here (the last error lines are
/// kept for messages; showinfo timestamps are parsed). Disposing kills the process tree if it still runs and waits
/// for it, so no decoder outlives an error, a corrupt file or a cancellation.
/// </summary>
internal sealed class FfmpegProcess : IAsyncDisposable
{
    private const int KeptErrorLines = 12;
    private readonly Process _process;
    private readonly Task _stderrPump;
    private readonly Queue<string> _errors = new();
    private readonly Channel<double> _timestamps = Channel.CreateUnbounded<double>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private FfmpegProcess(Process process)
    {
        _process = process;
        _stderrPump = Task.Run(PumpErrorsAsync);
    }

    public int Id => _process.Id;

    public Stream Output => _process.StandardOutput.BaseStream;

    /// <summary>Starts the process.</summary>
    /// <param name="executable">ffmpeg or ffprobe.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="keepInputOpen">Keep stdin open for <see cref="SendInput"/> (a filter graph read from <c>pipe:0</c>); else it is closed now.</param>
    public static FfmpegProcess Start(string executable, IEnumerable<string> arguments, bool keepInputOpen = false)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"'{executable}' did not start.");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"'{executable}' could not be started ({e.Message}). Install ffmpeg with 'sudo apt-get install -y ffmpeg' or point VideoDecoderOptions at a working binary.", e);
        }

        if (!keepInputOpen)
        {
            // Nothing is sent on stdin (ffmpeg also gets -nostdin); closing it stops an interactive read.
            process.StandardInput.Close();
        }

        return new FfmpegProcess(process);
    }

    /// <summary>True once the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Writes <paramref name="text"/> to stdin and closes it (the process then reads end of file).</summary>
    /// <exception cref="IOException">The process has gone (broken pipe).</exception>
    public void SendInput(string text)
    {
        StreamWriter input = _process.StandardInput;
        input.Write(text);
        input.Close();
    }

    /// <summary>The last error lines ffmpeg printed (showinfo lines excluded), joined.</summary>
    public string ErrorText
    {
        get
        {
            lock (_errors)
            {
                return string.Join(" | ", _errors);
            }
        }
    }

    /// <summary>The next showinfo <c>pts_time</c>, or null once stderr has ended without one.</summary>
    public async ValueTask<double?> NextTimestampAsync(CancellationToken cancellationToken)
    {
        while (await _timestamps.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_timestamps.Reader.TryRead(out double t))
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>Waits for the exit (stderr fully read) and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await _stderrPump.ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Kills the process tree now (cancellation): its stdout then ends and a pending read returns.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await _stderrPump.ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The pipe broke with the kill; nothing left to report.
        }

        _process.Dispose();
    }

    private async Task PumpErrorsAsync()
    {
        try
        {
            StreamReader reader = _process.StandardError;
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                int at = line.IndexOf("pts_time:", StringComparison.Ordinal);
                if (at >= 0 && line.Contains("showinfo", StringComparison.Ordinal))
                {
                    int start = at + "pts_time:".Length;
                    int end = line.IndexOf(' ', start);
                    string value = end < 0 ? line[start..] : line[start..end];
                    if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double t))
                    {
                        _timestamps.Writer.TryWrite(t);
                    }

                    continue;
                }

                if (line.Length == 0 || line.StartsWith(' ') || line.StartsWith("Input #", StringComparison.Ordinal) ||
                    line.StartsWith("Output #", StringComparison.Ordinal) || line.StartsWith("Stream mapping", StringComparison.Ordinal) ||
                    line.StartsWith("Press [q]", StringComparison.Ordinal))
                {
                    // ffmpeg's stream listing at info level: context, not errors.
                    continue;
                }

                lock (_errors)
                {
                    _errors.Enqueue(line.Trim());
                    if (_errors.Count > KeptErrorLines)
                    {
                        _errors.Dequeue();
                    }
                }
            }
        }
        finally
        {
            _timestamps.Writer.TryComplete();
        }
    }
}
