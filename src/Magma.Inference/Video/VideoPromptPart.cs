using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Inference.Video;

/// <summary>
/// One item of a turn in a conversation that mixes text, images and videos (<see cref="MagmaVideo.CreateRequestAsync(MagmaModel, IReadOnlyList{VideoChatTurn}, VideoSampling?, Generation.GenerationOptions?, VideoReader?, CancellationToken)"/>).
/// Items of a turn are joined by newlines; an image is one placeholder, a video one placeholder per sampled frame.
/// </summary>
public sealed class VideoPromptPart
{
    private VideoPromptPart(object value) => Value = value;

    internal object Value { get; }

    /// <summary>Text, written as is and tokenized as plain text (special-token strings in it stay characters).</summary>
    public static VideoPromptPart Text(string text) => new(text ?? throw new ArgumentNullException(nameof(text)));

    /// <summary>A still image: one placeholder, processed with the package's crops like any image.</summary>
    public static VideoPromptPart Image(RgbImage image) => new(image ?? throw new ArgumentNullException(nameof(image)));

    /// <summary>
    /// A still image not decoded yet: its header counts against the context and the decoded-pixel budget
    /// (<see cref="MagmaModelOptions.MaxDecodedPixelsPerRequest"/>) before its pixels or any frame are decoded.
    /// </summary>
    public static VideoPromptPart Image(EncodedImage image) => new(image ?? throw new ArgumentNullException(nameof(image)));

    /// <summary>A video file (MP4, WebM, MKV through ffmpeg; GIF through SkiaSharp), sampled under the budget.</summary>
    public static VideoPromptPart VideoFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new(new PendingFile(path));
    }

    /// <summary>A video given as frames in memory, at <paramref name="framesPerSecond"/> (0 when unknown).</summary>
    public static VideoPromptPart Frames(IReadOnlyList<RgbImage> frames, double framesPerSecond = 0) =>
        new(VideoClip.FromFrames(frames, framesPerSecond, "frame list"));

    internal sealed record PendingFile(string Path);
}

/// <summary>One turn of a conversation with videos: its role and items in order.</summary>
/// <param name="Role">System, user or assistant.</param>
/// <param name="Parts">Text, images and videos, in order.</param>
public sealed record VideoChatTurn(ChatRole Role, IReadOnlyList<VideoPromptPart> Parts);
