using System.Runtime.CompilerServices;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Magma.Tasks.Decoding;

namespace Magma.Tasks;

/// <summary>
/// Magma's agent tasks on a loaded <see cref="MagmaModel"/>: each builds the official prompt, runs
/// <see cref="MagmaModel.GenerateAsync"/> and decodes the answer into a typed result (robot action, UI target,
/// Trace-of-Mark plan). The runtime knows nothing of these formats; this layer owns them.
/// </summary>
public static class MagmaTaskExtensions
{
    // One constraint per loaded model: it depends only on the package's vocabulary and stop token, and its allowed-id
    // arrays are shared by every request (the engine never mutates a processor).
    private static readonly ConditionalWeakTable<MagmaModel, ActionTokenConstraint> ActionConstraints = [];

    /// <summary>
    /// The robot-action constraint for this model's package (its <c>base_vocab_size</c> and first EOS id): seven action
    /// tokens, then the stop token. Built once per model; <see cref="PredictActionAsync"/> adds it to every request.
    /// </summary>
    /// <param name="model">The loaded model.</param>
    public static ActionTokenConstraint ActionConstraint(this MagmaModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return ActionConstraints.GetValue(
            model, m => new ActionTokenConstraint(m.Package.Manifest.Tokens.BaseVocabSize, m.Package.Manifest.Tokens.Eos[0]));
    }

    /// <summary>
    /// Predicts one 7-DoF robot action for <paramref name="image"/> and <paramref name="task"/> with Magma's LIBERO
    /// prompt. Sampling defaults to temperature 0.7 / top-k 50 (the official settings); the action-token constraint is
    /// always added, so the output is seven action tokens and EOS.
    /// </summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="image">The (already rotated/round-tripped) camera frame.</param>
    /// <param name="task">The task instruction, e.g. "put the bowl on the plate".</param>
    /// <param name="decoder">Un-normalises tokens into an action (and keeps gripper state across steps).</param>
    /// <param name="options">Sampling options; <see cref="GenerationOptions.RobotAction"/> when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public static async Task<DecodeResult<RobotAction>> PredictActionAsync(
        this MagmaModel model, RgbImage image, string task, RobotActionDecoder decoder, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(decoder);
        GenerationOptions o = options ?? GenerationOptions.RobotAction;
        GenerationOptions constrained = o with
        {
            MaxNewTokens = Math.Max(o.MaxNewTokens, ActionTokenConstraint.ActionLength + 1),
            LogitsProcessors = [.. o.LogitsProcessors, model.ActionConstraint()],
        };
        MagmaResponse response = await model.GenerateAsync(
            new MagmaRequest { Images = [image], Turns = MagmaPrompts.Conversation(MagmaPrompts.RobotAction(task, model.UseImageStartEnd)), Options = constrained },
            cancellationToken).ConfigureAwait(false);
        int[] ids = [.. response.TokenIds];
        return decoder.Decode(ids);
    }

    /// <summary>
    /// Grounds a UI instruction on a (Set-of-Mark) screenshot with the UI agent's prompt, greedy by default, and
    /// parses the answer into a click target in screenshot pixels.
    /// </summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="screenshot">The screenshot the model sees.</param>
    /// <param name="instruction">What to click, e.g. "open the settings".</param>
    /// <param name="markBoxes">Mark id to normalised box of the marks drawn on the screenshot, if any.</param>
    /// <param name="options">Generation options; greedy with 128 new tokens when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public static async Task<DecodeResult<UiTarget>> GroundAsync(
        this MagmaModel model, RgbImage screenshot, string instruction, IReadOnlyDictionary<int, NormalizedBox>? markBoxes = null,
        GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(screenshot);
        ArgumentNullException.ThrowIfNull(instruction);
        MagmaResponse response = await model.GenerateAsync(
            new MagmaRequest
            {
                Images = [screenshot],
                Turns = MagmaPrompts.Conversation(MagmaPrompts.UiClick(instruction, model.UseImageStartEnd)),
                Options = options ?? new GenerationOptions { MaxNewTokens = 128 },
            },
            cancellationToken).ConfigureAwait(false);
        return UiAnswerParser.ParseTarget(response.Text, screenshot.Width, screenshot.Height, markBoxes);
    }

    /// <summary>
    /// Asks for a Trace-of-Mark plan (the robot-trajectory demo's prompt; sampling at temperature 0.3 by default) and
    /// parses the traces.
    /// </summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="image">The image with numeric marks drawn on it.</param>
    /// <param name="markIds">The marks to move.</param>
    /// <param name="task">What the robot is doing.</param>
    /// <param name="speed">The demo's speed value.</param>
    /// <param name="steps">Number of future steps to plan.</param>
    /// <param name="options">Generation options; temperature 0.3, top-k 50, 1024 new tokens when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public static async Task<DecodeResult<TracePlan>> PlanTraceAsync(
        this MagmaModel model, RgbImage image, IReadOnlyList<int> markIds, string task, int speed = 8, int steps = 16,
        GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        MagmaResponse response = await model.GenerateAsync(
            new MagmaRequest
            {
                Images = [image],
                Turns = MagmaPrompts.Conversation(MagmaPrompts.TraceOfMarkPlanning(markIds, task, speed, steps, model.UseImageStartEnd)),
                Options = options ?? new GenerationOptions { DoSample = true, Temperature = 0.3f, MaxNewTokens = 1024 },
            },
            cancellationToken).ConfigureAwait(false);
        return TraceParser.Parse(response.Text, image.Width, image.Height);
    }
}
