namespace Magma.Inference.Video;

/// <summary>Finds ffmpeg and ffprobe; a missing tool is one error that says what was tried and what to do.</summary>
internal static class FfmpegTools
{
    /// <summary>
    /// The only protocols ffmpeg/ffprobe may open: local files and pipes. Without it a demuxer that follows references
    /// (an HLS playlist, a concat list) could open network URLs named inside the file.
    /// </summary>
    public const string ProtocolWhitelist = "file,pipe";

    /// <summary>
    /// A local path as an ffmpeg URL: <c>file:</c> and the absolute path. ffmpeg reads a name's text before the first
    /// colon as a protocol, so a file named <c>concat:a|b</c>, <c>pipe:0</c> or <c>http://host/x</c> would otherwise be
    /// opened as that protocol; after <c>file:</c> the rest is only ever a path.
    /// </summary>
    public static string FileUrl(string path) => "file:" + Path.GetFullPath(path);

    public static string ResolveFfmpeg(VideoDecoderOptions options)
    {
        var tried = new List<string>();
        if (options.FfmpegPath is { Length: > 0 } configured)
        {
            return Exists(configured, tried) ?? throw Missing("ffmpeg", tried, "VideoDecoderOptions.FfmpegPath");
        }

        if (Environment.GetEnvironmentVariable(VideoDecoderOptions.FfmpegEnvironmentVariable) is { Length: > 0 } env)
        {
            return Exists(env, tried) ?? throw Missing("ffmpeg", tried, "VideoDecoderOptions.FfmpegPath");
        }

        return OnPath("ffmpeg", tried) ?? throw Missing("ffmpeg", tried, "VideoDecoderOptions.FfmpegPath (or $" + VideoDecoderOptions.FfmpegEnvironmentVariable + ")");
    }

    /// <summary>The ffmpeg binary, or null when none is found (no exception).</summary>
    public static string? TryResolveFfmpeg(VideoDecoderOptions options)
    {
        try
        {
            return ResolveFfmpeg(options);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public static string ResolveFfprobe(VideoDecoderOptions options)
    {
        var tried = new List<string>();
        if (options.FfprobePath is { Length: > 0 } configured)
        {
            return Exists(configured, tried) ?? throw Missing("ffprobe", tried, "VideoDecoderOptions.FfprobePath");
        }

        string ffmpeg = ResolveFfmpeg(options);
        string? dir = Path.GetDirectoryName(ffmpeg);
        if (!string.IsNullOrEmpty(dir) && Exists(Path.Combine(dir, "ffprobe"), tried) is { } sibling)
        {
            return sibling;
        }

        return OnPath("ffprobe", tried) ?? throw Missing("ffprobe", tried, "VideoDecoderOptions.FfprobePath");
    }

    private static string? Exists(string path, List<string> tried)
    {
        tried.Add(path);
        return File.Exists(path) ? Path.GetFullPath(path) : null;
    }

    private static string? OnPath(string name, List<string> tried)
    {
        string[] dirs = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (string dir in dirs)
        {
            if (Exists(Path.Combine(dir, name), tried) is { } found)
            {
                return found;
            }
        }

        if (dirs.Length == 0)
        {
            tried.Add("PATH (empty)");
        }

        return null;
    }

    private static InvalidOperationException Missing(string tool, List<string> tried, string option) => new(
        $"Video decoding needs {tool}, which was not found (tried: {string.Join(", ", tried)}). " +
        $"Install it with 'sudo apt-get install -y ffmpeg' (Debian/Ubuntu; it provides ffmpeg and ffprobe), or set {option} to the binary.");
}
