// Chat with Magma about an image through Semantic Kernel, streaming the answer.
//   dotnet run --project samples/Magma.Samples.Chat -c Release -- [--model <package folder>] [--cuda] [--image <file>] [--max-tokens N] "question"
// Without --model it runs the repository's tiny random-weight package (same code path, noise answers).
// Without --image it sends a generated test picture.
using Magma.Inference;
using Magma.Inference.Imaging;
using Magma.SemanticKernel;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

string model = Path.Combine(AppContext.BaseDirectory, "tiny-magma");
string? imagePath = null;
bool cuda = false;
int maxTokens = 64;
var question = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--model" when i + 1 < args.Length: model = args[++i]; break;
        case "--image" when i + 1 < args.Length: imagePath = args[++i]; break;
        case "--max-tokens" when i + 1 < args.Length: maxTokens = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--cuda": cuda = true; break;
        default: question.Add(args[i]); break;
    }
}

string text = question.Count > 0 ? string.Join(' ', question) : "What is in this image?";
byte[] png = imagePath is not null
    ? RgbImage.Load(imagePath).EncodePng()
    : RgbImage.FromPixels(64, 64, [.. Enumerable.Range(0, 64 * 64 * 3).Select(i => (byte)(i * 7))]).EncodePng();

Kernel kernel = Kernel.CreateBuilder()
    .AddMagmaChatCompletion(model, new MagmaModelOptions { Device = cuda ? MagmaDevice.Cuda : MagmaDevice.Cpu })
    .Build();
var chat = kernel.GetRequiredService<IChatCompletionService>();
var history = new ChatHistory();
history.AddUserMessage([new ImageContent(png, "image/png"), new TextContent(text)]);

Console.WriteLine($"model: {chat.Attributes["ModelId"]} ({model})");
Console.WriteLine($"user: [image {imagePath ?? "generated"}] {text}");
Console.Write("magma: ");
await foreach (StreamingChatMessageContent chunk in chat.GetStreamingChatMessageContentsAsync(
    history, new MagmaPromptExecutionSettings { MaxTokens = maxTokens }, kernel))
{
    Console.Write(chunk.Content);
}

Console.WriteLine();
(kernel.Services as IDisposable)?.Dispose();
