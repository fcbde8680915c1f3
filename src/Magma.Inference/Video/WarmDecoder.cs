using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Magma.Inference.Video;

/// <summary>
/// Starts the ffmpeg that decodes a video's sampled frames, from a spare started ahead of need when there is one.
/// Starting Debian's ffmpeg costs ≈ 0.1 s before it reads anything (it links some 200 shared libraries), a third of a
/// 16-frame request; its arguments are therefore the same for every video, and the video itself comes afterwards on
/// stdin as a filter graph (<c>movie=</c> source, <c>trim</c> at the last wanted frame, <c>select</c>, <c>showinfo</c>)
/// read through <c>-filter_complex_script pipe:0</c>. One spare per ffmpeg binary waits, blocked on that read; a
/// spare left over when this process ends reads end of file and exits.
/// </summary>
internal static class WarmDecoder
{
    private static readonly ConcurrentDictionary<string, FfmpegProcess> s_spares = new(StringComparer.Ordinal);

    // The graph comes on stdin; passthrough keeps ffmpeg from duplicating or dropping frames to fit a rate.
    private static readonly string[] s_arguments =
    [
        "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-filter_complex_script", "pipe:0",
        "-map", "[frames]", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ];

    /// <summary>
    /// An ffmpeg decoding frames <paramref name="frameIndices"/> (strictly increasing) of <paramref name="path"/> as raw
    /// RGB24 on stdout, their <c>pts_time</c> on stderr; the spare when one is waiting, else a new process.
    /// </summary>
    public static FfmpegProcess Start(string ffmpeg, string path, IReadOnlyList<int> frameIndices, bool useSpare)
    {
        string graph = Graph(path, frameIndices);
        if (useSpare && s_spares.TryRemove(ffmpeg, out FfmpegProcess? spare))
        {
            try
            {
                spare.SendInput(graph);
                return spare;
            }
            catch (IOException)
            {
                // The spare has gone (killed from outside): start one now.
                spare.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }

        FfmpegProcess p = FfmpegProcess.Start(ffmpeg, s_arguments, keepInputOpen: true);
        p.SendInput(graph);
        return p;
    }

    /// <summary>Starts a spare for <paramref name="ffmpeg"/> unless one is waiting; never throws (a missing ffmpeg is reported when used).</summary>
    public static void Replenish(string ffmpeg)
    {
        if (s_spares.TryGetValue(ffmpeg, out FfmpegProcess? waiting) && !waiting.HasExited)
        {
            return;
        }

        FfmpegProcess spare;
        try
        {
            spare = FfmpegProcess.Start(ffmpeg, s_arguments, keepInputOpen: true);
        }
        catch (InvalidOperationException)
        {
            return;
        }

        if (waiting is not null && s_spares.TryRemove(KeyValuePair.Create(ffmpeg, waiting)))
        {
            waiting.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        if (!s_spares.TryAdd(ffmpeg, spare))
        {
            // Another caller's spare won.
            spare.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>The waiting spare's process id (tests).</summary>
    internal static int? SpareId(string ffmpeg) => s_spares.TryGetValue(ffmpeg, out FfmpegProcess? p) ? p.Id : null;

    /// <summary>
    /// The filter graph: the video's first video stream, ended after the last wanted frame (ffmpeg stops decoding
    /// there), the wanted frames kept by index (<c>n</c> counts decoded frames from 0), their timestamps on stderr.
    /// The movie source opens its file itself, outside the command line's <c>-protocol_whitelist</c>: the file goes as a
    /// <c>file:</c> URL and the whitelist as the source's own format option, so neither the name nor what the file
    /// refers to can reach another protocol.
    /// </summary>
    internal static string Graph(string path, IReadOnlyList<int> frameIndices) => string.Create(
        CultureInfo.InvariantCulture,
        $"movie=filename={GraphValue(FfmpegTools.FileUrl(path))}:format_opts={GraphValue("protocol_whitelist=" + FfmpegTools.ProtocolWhitelist)},trim=end_frame={frameIndices[^1] + 1},select='{VideoReader.SelectExpression(frameIndices)}',showinfo[frames]");

    /// <summary>
    /// Escapes a filter option value for a filter graph: first for the option (<c>\ ' :</c>), then for the graph
    /// (<c>\ ' [ ] , ;</c>), as ffmpeg-filters' "Notes on filtergraph escaping" describe; white space at both levels,
    /// since each level trims it at the ends.
    /// </summary>
    internal static string GraphValue(string value)
    {
        var option = new StringBuilder(value.Length + 8);
        foreach (char c in value)
        {
            if (c is '\\' or '\'' or ':' || char.IsWhiteSpace(c))
            {
                option.Append('\\');
            }

            option.Append(c);
        }

        var graph = new StringBuilder(option.Length + 8);
        foreach (char c in option.ToString())
        {
            if (c is '\\' or '\'' or '[' or ']' or ',' or ';' || char.IsWhiteSpace(c))
            {
                graph.Append('\\');
            }

            graph.Append(c);
        }

        return graph.ToString();
    }
}
