// A fresh application that knows Magma only through the packed NuGet packages (see PackagingTests).
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Plugin;
using Magma.Plugins.Robotics.Python;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Kernel;
using Magma.Plugins.Web.Safety;
using Magma.SemanticKernel;
using Magma.Tasks.Marks;
using Microsoft.Extensions.AI;

string package = args[0];
await using MagmaModel model = MagmaModel.Load(package, new MagmaModelOptions { IntraOpThreads = 1 });

// The engine: greedy tokens from the tiny random-weight model.
MagmaResponse response = await model.GenerateAsync(
    MagmaRequest.Ask(null, "What is 1+1?", new GenerationOptions { MaxNewTokens = 4 }, model.UseImageStartEnd));
Console.WriteLine($"engine tokens: {string.Join(' ', response.TokenIds)}");

// Set-of-Mark labels are drawn with the font embedded in Magma.Tasks.dll.
SetOfMarkResult marked = new SetOfMarkRenderer().Draw(RgbImage.FromPixels(64, 48, new byte[64 * 48 * 3]), [new MarkBox(4, 4, 30, 20)]);
Console.WriteLine($"set-of-mark: {marked.Marks.Count} mark, {marked.EncodePng().Length > 0}");

// Microsoft.Extensions.AI / Semantic Kernel surface.
using (IChatClient client = new MagmaChatClient(model))
{
    ChatResponse chat = await client.GetResponseAsync("Hello", new ChatOptions { MaxOutputTokens = 3 });
    Console.WriteLine($"chat client: {client.GetService<ChatClientMetadata>()?.ProviderName} finish={chat.FinishReason}");
}

// Plugin types that need neither a browser nor Python to construct.
var webPolicy = new MagmaWebPolicy(model);
var origins = new OriginPolicy(["https://example.com"]);
var webOptions = new WebSessionOptions { AllowedOrigins = ["https://example.com"] };
var pythonOptions = new PythonHostOptions { LibraryPath = "/nonexistent/libpython3.11.so" };
Console.WriteLine($"web: {webPolicy.GetType().Name} {origins.GetType().Name} {webOptions.AllowedOrigins.Count}");
Console.WriteLine($"robotics: {typeof(RoboticsPlugin).Name} {pythonOptions.LibraryPath}");

// Files the plugins load at run time travel inside their assemblies.
string[] resources =
[
    .. typeof(SetOfMarkRenderer).Assembly.GetManifestResourceNames(),
    .. typeof(WebPlugin).Assembly.GetManifestResourceNames(),
    .. typeof(RoboticsPlugin).Assembly.GetManifestResourceNames(),
];
Console.WriteLine($"resources: {string.Join(' ', resources.Order(StringComparer.Ordinal))}");
Console.WriteLine("consumer ok");
