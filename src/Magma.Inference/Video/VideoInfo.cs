namespace Magma.Inference.Video;

/// <summary>What a video holds, as read from its container (ffprobe) or GIF header.</summary>
/// <param name="Source">The file path, or a description of an in-memory frame list; used in error messages.</param>
/// <param name="Width">Frame width in pixels.</param>
/// <param name="Height">Frame height in pixels.</param>
/// <param name="FrameCount">Frames in the video: the container's frame count (ffprobe <c>nb_frames</c>, MP4/MOV), else the first video stream's packet count (WebM, MKV); GIF frames.</param>
/// <param name="FramesPerSecond">Average frame rate; 0 when unknown (a frame list given without a rate).</param>
/// <param name="Duration">Length of the video; zero when unknown.</param>
public sealed record VideoInfo(string Source, int Width, int Height, int FrameCount, double FramesPerSecond, TimeSpan Duration)
{
    /// <summary>The stream's start time in seconds (ffprobe <c>start_time</c>), subtracted from decoder timestamps.</summary>
    internal double StartSeconds { get; init; }

    /// <summary>Decoded through SkiaSharp's GIF codec rather than ffmpeg.</summary>
    internal bool IsGif { get; init; }
}
