using System.ComponentModel;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Video;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;

namespace Magma.SemanticKernel;

/// <summary>
/// Magma as a video tool for a planner chat model: <c>answer_about_video</c> samples frames of a local video
/// (MP4, WebM, MKV through ffmpeg; GIF), shows them to Magma as a sequence of images (lmms-eval's layout, one crop per
/// frame) and returns its answer. Use it as a Semantic Kernel plugin (<c>AddMagmaVideoPlugin</c>) or through
/// <see cref="AsAIFunctions"/>.
/// </summary>
public sealed class MagmaVideoPlugin
{
    /// <summary>The plugin name used by <c>AddMagmaVideoPlugin</c> by default.</summary>
    public const string DefaultPluginName = "MagmaVideo";

    private readonly MagmaModel _model;
    private readonly int _maxOutputTokens;
    private readonly VideoReader _reader;

    /// <summary>Creates the plugin over a loaded model (not owned: the caller disposes it).</summary>
    /// <param name="model">The model.</param>
    /// <param name="maxOutputTokens">Answer length limit (reserved in the frame budget). Default 256.</param>
    /// <param name="decoderOptions">Where ffmpeg is; <see cref="VideoDecoderOptions.Default"/> when null.</param>
    public MagmaVideoPlugin(MagmaModel model, int maxOutputTokens = 256, VideoDecoderOptions? decoderOptions = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOutputTokens, 1);
        _model = model;
        _maxOutputTokens = maxOutputTokens;
        _reader = new VideoReader(decoderOptions);
    }

    /// <summary>Answers a question about a video.</summary>
    /// <param name="question">The question.</param>
    /// <param name="path">Local path or file: URI of the video.</param>
    /// <param name="frames">Frames to sample uniformly; 0 for as many as fit (at most 32).</param>
    /// <param name="cancellationToken">Cancels decoding (ffmpeg is stopped) and generation.</param>
    [KernelFunction("answer_about_video")]
    [Description("Asks the Magma vision-language model one question about a local video file (MP4, WebM, MKV or GIF) and returns its short text answer. Frames are sampled evenly over the whole video. Use it to find out what happens in a clip, what objects or actions appear, or in what order.")]
    public async Task<string> AnswerAboutVideoAsync(
        [Description("The question about the video, in plain English.")] string question,
        [Description("The video: a local file path or a file: URI. Web URLs are not fetched.")] string path,
        [Description("How many frames to look at, sampled evenly (e.g. 8 or 16); 0 lets Magma take as many as fit, up to 32.")] int frames = 0,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(question);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new MagmaInputException("Argument 'path' is empty; pass a local video path or a file: URI.");
        }

        if (frames < 0)
        {
            throw new MagmaInputException($"Argument 'frames' is {frames}; pass a positive count, or 0 for as many as fit.");
        }

        string file = path.Trim();
        if (Uri.TryCreate(file, UriKind.Absolute, out Uri? uri) && !Path.IsPathRooted(file))
        {
            file = uri.IsFile ? uri.LocalPath : throw new MagmaInputException(
                $"Argument 'path' is the {uri.Scheme}: URI '{path}'; Magma runs offline and reads only local paths and file: URIs.");
        }

        using VideoRequest request = await _model.CreateRequestAsync(
            file, question, new VideoSampling { FrameCount = frames == 0 ? null : frames }, new GenerationOptions { MaxNewTokens = _maxOutputTokens },
            _reader, cancellationToken).ConfigureAwait(false);
        MagmaResponse response = await _model.GenerateAsync(request.Request, cancellationToken).ConfigureAwait(false);
        return response.Text;
    }

    /// <summary>The function as a Microsoft.Extensions.AI <see cref="AIFunction"/> (for <c>ChatOptions.Tools</c>).</summary>
    public IList<AIFunction> AsAIFunctions() =>
        [AIFunctionFactory.Create(AnswerAboutVideoAsync, new AIFunctionFactoryOptions { Name = "answer_about_video" })];
}
