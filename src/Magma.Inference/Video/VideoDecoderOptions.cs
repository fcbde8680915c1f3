namespace Magma.Inference.Video;

/// <summary>Where <see cref="VideoReader"/> finds Debian's <c>ffmpeg</c>/<c>ffprobe</c>, and its size limit.</summary>
public sealed record VideoDecoderOptions
{
    /// <summary>The environment variable read when <see cref="FfmpegPath"/> is null: <c>MAGMA_FFMPEG</c>.</summary>
    public const string FfmpegEnvironmentVariable = "MAGMA_FFMPEG";

    /// <summary>Shared default instance.</summary>
    public static VideoDecoderOptions Default { get; } = new();

    /// <summary>
    /// The ffmpeg binary. Null: <c>$MAGMA_FFMPEG</c>, then <c>ffmpeg</c> on <c>PATH</c>
    /// (<c>sudo apt-get install -y ffmpeg</c> puts it at /usr/bin/ffmpeg).
    /// </summary>
    public string? FfmpegPath { get; init; }

    /// <summary>The ffprobe binary. Null: <c>ffprobe</c> beside the ffmpeg in use, then on <c>PATH</c>.</summary>
    public string? FfprobePath { get; init; }

    /// <summary>
    /// Keep one ffmpeg process started and waiting for the next video (default true): starting Debian's ffmpeg costs
    /// ≈ 0.1 s, which a request then skips. The first is started when a <see cref="VideoReader"/> is created, the next
    /// after each video; it is idle (blocked reading its stdin) until used, and exits when this process does.
    /// </summary>
    public bool KeepDecoderWarm { get; init; } = true;

    /// <summary>Largest accepted frame (width × height), checked before decoding. Default 36,000,000 (8K UHD and a margin).</summary>
    public long MaxFramePixels { get; init; } = 36_000_000;
}
