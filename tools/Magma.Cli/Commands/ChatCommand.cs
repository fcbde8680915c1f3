using System.CommandLine;
using System.Text;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Cli.Commands;

/// <summary><c>magma chat --model &lt;pkg&gt; [--image f]... "question"</c>: streams the answer to stdout.</summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelArguments(defaultMaxTokens: 512);
        var question = new Argument<string>("question") { Description = "What to ask." };
        var images = new Option<string[]>("--image", "-i") { Description = "An image file to show the model (PNG, JPEG, WebP, ...); repeat for several, in order." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object at the end (text, finish_reason, usage) instead of streaming text." };
        var command = new Command("chat", "Ask the model a question, optionally about images, and stream the answer (greedy decoding).\n" +
            "Exit codes: 0 answered, 1 package/image/device error, 2 usage, 130 cancelled (Ctrl+C).")
        {
            question, images, json,
        };
        model.AddTo(command);
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, () => RunAsync(
            parse, model, parse.GetRequiredValue(question), parse.GetValue(images) ?? [], parse.GetValue(json), ct)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, ModelArguments args, string question, string[] imagePaths, bool json, CancellationToken ct)
    {
        TextWriter output = parse.InvocationConfiguration.Output;
        // Images first: a typo in a path should fail before seconds of model loading.
        RgbImage[] images = [.. imagePaths.Select(p => RgbImage.Load(p))];
        await using MagmaModel model = args.Load(parse);
        MagmaRequest request = CreateRequest(model, images, question, parse.GetValue(args.MaxTokens));

        var text = new StringBuilder();
        MagmaStreamUpdate? last = null;
        bool started = false;
        await foreach (MagmaStreamUpdate update in model.StreamAsync(request, ct).ConfigureAwait(false))
        {
            last = update;
            text.Append(update.Text);
            if (json)
            {
                continue;
            }

            // GenerateAsync trims the answer; trimming the stream's start keeps the printed text the same.
            string delta = started ? update.Text : update.Text.TrimStart();
            if (delta.Length > 0)
            {
                started = true;
                await output.WriteAsync(delta).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }
        }

        if (json)
        {
            await output.WriteLineAsync(CliJson.Serialize(new ChatResult(text.ToString().Trim(), last?.FinishReason, last?.Usage))).ConfigureAwait(false);
        }
        else
        {
            await output.WriteLineAsync().ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// The request the command sends: Magma's system prompt and one placeholder line per image before the question
    /// (with one image, exactly <see cref="MagmaRequest.Ask"/>).
    /// </summary>
    internal static MagmaRequest CreateRequest(MagmaModel model, IReadOnlyList<RgbImage> images, string question, int maxTokens)
    {
        string placeholders = string.Concat(images.Select(_ => MagmaPrompts.Image(model.UseImageStartEnd) + "\n"));
        return new MagmaRequest
        {
            Images = images,
            Turns = MagmaPrompts.Conversation(placeholders + question),
            Options = new GenerationOptions { MaxNewTokens = maxTokens },
        };
    }
}

/// <summary>What <c>magma chat --json</c> prints.</summary>
internal sealed record ChatResult(string Text, FinishReason? FinishReason, MagmaUsage? Usage);
