// Chat with Magma about an image through Semantic Kernel, streaming the answer. See Usage below.
using Magma.Inference;
using Magma.Inference.Imaging;
using Magma.Samples;
using Magma.SemanticKernel;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

const string Usage = """
    Magma chat: ask a question about an image through Semantic Kernel; the answer streams.

    Usage: dotnet run --project samples/Magma.Samples.Chat -c Release -- [options] [question]
      question          the text to ask (default: "What is in this image?").
      --model DIR       an exported Magma ONNX package. Without it: the repository's tiny random-weight model, whose
                        answers are noise (the pipeline is real; export Magma-8B for real answers, see the README).
      --image FILE      the picture (PNG, JPEG, ...). Without it: a generated test picture.
      --max-tokens N    answer length limit (default 64).
      --cuda            run on the GPU (needs the CUDA provider; see the README's "Run it on a GPU").
      --help            this text.

    Exit codes: 0 done, 1 error (model package, image file, device), 2 usage, 130 cancelled (Ctrl+C).
    """;

return await SampleCommandLine.RunAsync(
    "chat", Usage, args, valueOptions: ["--model", "--image", "--max-tokens"], flags: ["--cuda"], positional: true,
    async (line, ct) =>
    {
        bool tiny = line.Value("--model") is null;
        string model = line.Value("--model") ?? Path.Combine(AppContext.BaseDirectory, "tiny-magma");
        string? imagePath = line.Value("--image");
        int maxTokens = line.Int("--max-tokens", 64, minimum: 1);
        string text = line.Positional.Count > 0 ? string.Join(' ', line.Positional) : "What is in this image?";

        // The image first: a wrong path fails in a millisecond, before the model loads.
        byte[] png = imagePath is not null
            ? RgbImage.Load(imagePath).EncodePng()
            : RgbImage.FromPixels(64, 64, [.. Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i * 7))]).EncodePng();

        Kernel kernel = Kernel.CreateBuilder()
            .AddMagmaChatCompletion(model, new MagmaModelOptions { Device = line.Flag("--cuda") ? MagmaDevice.Cuda : MagmaDevice.Cpu })
            .Build();
        try
        {
            var chat = kernel.GetRequiredService<IChatCompletionService>();
            var history = new ChatHistory();
            history.AddUserMessage([new ImageContent(png, "image/png"), new TextContent(text)]);

            Console.WriteLine($"model: {chat.Attributes["ModelId"]} ({model})");
            if (tiny)
            {
                Console.WriteLine("note:  this is the tiny random-weight test model: its answer is noise, not an answer. " +
                                  "Pass --model <exported Magma-8B package> for real answers.");
            }

            Console.WriteLine($"user:  [image {imagePath ?? "generated"}] {text}");
            Console.Write("magma: ");
            await foreach (StreamingChatMessageContent chunk in chat.GetStreamingChatMessageContentsAsync(
                history, new MagmaPromptExecutionSettings { MaxTokens = maxTokens }, kernel, ct))
            {
                Console.Write(chunk.Content);
            }

            Console.WriteLine();
            return SampleCommandLine.Success;
        }
        finally
        {
            (kernel.Services as IDisposable)?.Dispose();
        }
    });
