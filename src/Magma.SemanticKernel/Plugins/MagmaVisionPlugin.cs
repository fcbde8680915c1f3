using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Tasks;
using Magma.Tasks.Decoding;
using Magma.Tasks.Marks;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using TextContent = Microsoft.Extensions.AI.TextContent;

namespace Magma.SemanticKernel;

/// <summary>
/// Magma as a set of tools for a planner chat model (OpenAI, Azure OpenAI, Ollama, ...): describe an image, answer a
/// question about it, ground a UI instruction to a point, plan Trace-of-Mark motions. Use it as a Semantic Kernel
/// plugin (<c>KernelPluginFactory.CreateFromObject</c> or <c>AddMagmaVisionPlugin</c>) or, with plain
/// Microsoft.Extensions.AI, through <see cref="AsAIFunctions"/>. Functions that produce a picture return it as image
/// content (<see cref="DataContent"/>, PNG), never as base64 text.
/// </summary>
public sealed class MagmaVisionPlugin
{
    /// <summary>The plugin name used by <c>AddMagmaVisionPlugin</c> by default.</summary>
    public const string DefaultPluginName = "MagmaVision";

    private const string ImageDescription =
        "The image to look at: a local file path (PNG, JPEG, WebP, BMP or GIF), a file: URI, or a data:image/...;base64, URI. Web URLs are not fetched.";

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly MagmaModel _model;
    private readonly int _maxOutputTokens;

    /// <summary>Creates the plugin over a loaded model (not owned: the caller disposes it).</summary>
    /// <param name="model">The model.</param>
    /// <param name="maxOutputTokens">Answer length limit of describe_image and answer_about_image. Default 256.</param>
    public MagmaVisionPlugin(MagmaModel model, int maxOutputTokens = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxOutputTokens, 1);
        _model = model;
        _maxOutputTokens = maxOutputTokens;
    }

    /// <summary>Generation options of <c>ground</c>; greedy with 128 new tokens (the UI agent's settings) when null.</summary>
    public GenerationOptions? GroundingOptions { get; init; }

    /// <summary>Generation options of <c>plan_trace</c>; temperature 0.3 with 1024 new tokens (the demo's settings) when null.</summary>
    public GenerationOptions? PlanningOptions { get; init; }

    /// <summary>Describes an image in a few sentences.</summary>
    /// <param name="image">Local path, file: URI or data: URI of the image.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    [KernelFunction("describe_image")]
    [Description("Looks at an image with the Magma vision-language model and returns a short text description of what it shows (objects, text, layout). Use it when you need to know what is in a picture or screenshot.")]
    public async Task<string> DescribeImageAsync(
        [Description(ImageDescription)] string image, CancellationToken cancellationToken = default)
    {
        RgbImage rgb = ImageArgument.Load(image, _model);
        MagmaResponse r = await _model.GenerateAsync(
            MagmaRequest.Ask(rgb, "Describe this image.", Greedy(_maxOutputTokens), _model.UseImageStartEnd), cancellationToken).ConfigureAwait(false);
        return r.Text;
    }

    /// <summary>Answers a question about an image.</summary>
    /// <param name="image">Local path, file: URI or data: URI of the image.</param>
    /// <param name="question">The question.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    [KernelFunction("answer_about_image")]
    [Description("Asks the Magma vision-language model one question about an image and returns its short text answer. Use it to read text on screen, count things, check a state (e.g. 'Is the checkbox ticked?').")]
    public async Task<string> AnswerAboutImageAsync(
        [Description(ImageDescription)] string image,
        [Description("The question about the image, in plain English.")] string question,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(question);
        RgbImage rgb = ImageArgument.Load(image, _model);
        MagmaResponse r = await _model.GenerateAsync(
            MagmaRequest.Ask(rgb, question, Greedy(_maxOutputTokens), _model.UseImageStartEnd), cancellationToken).ConfigureAwait(false);
        return r.Text;
    }

    /// <summary>Grounds a UI instruction on a screenshot: where to click.</summary>
    /// <param name="image">Local path, file: URI or data: URI of the screenshot (ideally with Set-of-Mark numbers drawn on it).</param>
    /// <param name="instruction">What to click.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    [KernelFunction("ground")]
    [Description("Finds where to click on a screenshot to carry out a UI instruction. Returns JSON with the target pixel (x, y from the top-left corner), the normalised point (0..1), the Set-of-Mark number if the screenshot has numbered marks, and the model's raw answer, followed by the screenshot with the target marked. If the answer cannot be parsed, returns JSON with 'error' and the raw answer.")]
    public async Task<IList<AIContent>> GroundAsync(
        [Description(ImageDescription)] string image,
        [Description("The UI action to locate, e.g. 'open the settings' or 'the Sign in button'.")] string instruction,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        RgbImage rgb = ImageArgument.Load(image, _model);
        DecodeResult<UiTarget> result = await _model.GroundAsync(rgb, instruction, options: GroundingOptions, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return [new TextContent(Json(new GroundFailure(result.FailureReason, result.RawText)))];
        }

        UiTarget t = result.Value;
        var found = new GroundResult(t.Pixel.X, t.Pixel.Y, t.Point.X, t.Point.Y, t.MarkId, result.RawText);
        RgbImage marked = new TraceRenderer().Draw(rgb, [new TraceMark(t.MarkId ?? 0, new Vector2((float)t.Pixel.X, (float)t.Pixel.Y))]);
        return [new TextContent(Json(found)), Png(marked, "ground.png")];
    }

    /// <summary>Plans Trace-of-Mark motions of numbered marks for a robot task.</summary>
    /// <param name="image">Local path, file: URI or data: URI of the image with numeric marks drawn on it.</param>
    /// <param name="markIds">The mark numbers to move.</param>
    /// <param name="task">What the robot is doing.</param>
    /// <param name="steps">How many future steps to plan.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    [KernelFunction("plan_trace")]
    [Description("Plans how numbered marks drawn on a robot camera image should move to carry out a task (Magma's Trace-of-Mark). Returns JSON with, per mark, the future positions in pixels, followed by the image with the planned traces drawn. If the answer cannot be parsed, returns JSON with 'error' and the raw answer.")]
    public async Task<IList<AIContent>> PlanTraceAsync(
        [Description(ImageDescription)] string image,
        [Description("The numbers of the marks drawn on the image that should be planned, e.g. [1, 2].")] int[] markIds,
        [Description("The robot's task, e.g. 'pick up the red block'.")] string task,
        [Description("Number of future steps to plan (default 16).")] int steps = 16,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(markIds);
        ArgumentException.ThrowIfNullOrWhiteSpace(task);
        RgbImage rgb = ImageArgument.Load(image, _model);
        DecodeResult<TracePlan> result = await _model.PlanTraceAsync(rgb, markIds, task, steps: steps, options: PlanningOptions, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            return [new TextContent(Json(new GroundFailure(result.FailureReason, result.RawText)))];
        }

        TracePlan plan = result.Value;
        var traces = plan.Traces.Select(tr => new TraceResult(tr.MarkId, [.. tr.PixelPoints.Select(p => new[] { p.X, p.Y })])).ToList();
        var marks = plan.Traces
            .Where(tr => tr.PixelPoints.Count > 0)
            .Select(tr => new TraceMark(tr.MarkId, ToVector(tr.PixelPoints[0]), [.. tr.PixelPoints.Select(ToVector)]))
            .ToList();
        RgbImage drawn = new TraceRenderer().Draw(rgb, marks);
        return [new TextContent(Json(new PlanResult(traces, plan.StepCount, result.RawText))), Png(drawn, "plan_trace.png")];
    }

    /// <summary>
    /// The same four functions as Microsoft.Extensions.AI <see cref="AIFunction"/>s (for <c>ChatOptions.Tools</c> with
    /// <c>UseFunctionInvocation</c>, or an agent). Built with <see cref="AIFunctionFactory"/> so image results stay
    /// <see cref="DataContent"/> (SK's <c>AsAIFunctions</c> would serialise them to JSON).
    /// </summary>
    public IList<AIFunction> AsAIFunctions() =>
    [
        Create(DescribeImageAsync, "describe_image"),
        Create(AnswerAboutImageAsync, "answer_about_image"),
        Create(GroundAsync, "ground"),
        Create(PlanTraceAsync, "plan_trace"),
    ];

    private static AIFunction Create(Delegate method, string name) =>
        AIFunctionFactory.Create(method, new AIFunctionFactoryOptions { Name = name });

    private static GenerationOptions Greedy(int maxTokens) => new() { MaxNewTokens = maxTokens };

    private static Vector2 ToVector(PixelPoint p) => new((float)p.X, (float)p.Y);

    private static DataContent Png(RgbImage image, string name) => new(image.EncodePng(), "image/png") { Name = name };

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, s_json);

    private sealed record GroundResult(double X, double Y, double NormalizedX, double NormalizedY, int? Mark, string RawAnswer);

    private sealed record GroundFailure(string Error, string RawAnswer);

    private sealed record TraceResult(int Mark, double[][] PixelPoints);

    private sealed record PlanResult(IReadOnlyList<TraceResult> Traces, int Steps, string RawAnswer);
}
