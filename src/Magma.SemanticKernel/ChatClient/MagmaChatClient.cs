using System.Runtime.CompilerServices;
using Magma.Inference;
using Magma.Inference.Generation;
using Microsoft.Extensions.AI;

namespace Magma.SemanticKernel;

/// <summary>
/// Magma-8B as a Microsoft.Extensions.AI <see cref="IChatClient"/>: text, images and videos (<see cref="DataContent"/>
/// with an <c>image/*</c> or <c>video/*</c> media type, or <see cref="UriContent"/> with a <c>file:</c> URI) anywhere in
/// the conversation reach the model in order. A video becomes sampled frames, one image each (docs/video.md). Requests from several threads are safe: they queue on the model and run one at a time.
/// </summary>
/// <remarks>
/// <see cref="ChatOptions"/> mapping: <c>Temperature</c> above 0 samples (otherwise greedy, Magma's chat default),
/// <c>TopP</c>, <c>TopK</c>, <c>Seed</c>, <c>MaxOutputTokens</c> and <c>StopSequences</c> go to the engine; Magma extras
/// come through <c>AdditionalProperties</c> (<see cref="MagmaChatOptionKeys"/>), or a whole
/// <see cref="GenerationOptions"/> through <c>RawRepresentationFactory</c>. Options Magma cannot honour (penalties,
/// JSON mode, required tool calls) and content it cannot read throw <see cref="NotSupportedException"/>.
/// The client holds no cross-cutting code: <see cref="MagmaModel"/> records Magma's spans and metrics
/// (<see cref="MagmaTelemetry"/>) and the standard <c>gen_ai.*</c> telemetry and logging are pipeline stages
/// (<c>AsBuilder().UseOpenTelemetry().UseLogging()</c>, or the builder <c>AddMagmaChatClient</c> returns).
/// </remarks>
public sealed class MagmaChatClient : IChatClient
{
    /// <summary>The provider name in <see cref="ChatClientMetadata"/>: "magma-onnx".</summary>
    public const string ProviderName = "magma-onnx";

    private readonly MagmaChatClientOptions _options;
    private readonly bool _ownsModel;
    private int _disposed;

    /// <summary>Wraps a loaded model.</summary>
    /// <param name="model">The model; requests queue on it.</param>
    /// <param name="options">Defaults for requests; <see cref="MagmaChatClientOptions"/>' defaults when null.</param>
    /// <param name="ownsModel">Dispose <paramref name="model"/> with this client.</param>
    public MagmaChatClient(MagmaModel model, MagmaChatClientOptions? options = null, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        _options = options ?? new MagmaChatClientOptions();
        _ownsModel = ownsModel;
        ModelId = _options.ModelId ?? model.Package.Manifest.ModelId;
        Metadata = new ChatClientMetadata(ProviderName, new Uri(Path.TrimEndingDirectorySeparator(Path.GetFullPath(model.Package.Directory)) + Path.DirectorySeparatorChar), ModelId);
    }

    /// <summary>Loads a package folder and returns a client that owns (and disposes) the model.</summary>
    /// <param name="packageDirectory">The folder holding magma.json.</param>
    /// <param name="modelOptions">Device and threading; CPU when null.</param>
    /// <param name="options">Request defaults.</param>
    /// <exception cref="MagmaPackageException">The package is missing a file or does not match its manifest.</exception>
    public static MagmaChatClient Load(string packageDirectory, MagmaModelOptions? modelOptions = null, MagmaChatClientOptions? options = null)
    {
        MagmaModel model = MagmaModel.Load(packageDirectory, modelOptions);
        return new MagmaChatClient(model, options, ownsModel: true);
    }

    /// <summary>The underlying model (also returned by <c>GetService(typeof(MagmaModel))</c>).</summary>
    public MagmaModel Model { get; }

    /// <summary>The model id reported in responses.</summary>
    public string ModelId { get; }

    /// <summary>Provider "magma-onnx", the package folder as a <c>file:</c> URI, and the model id.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">A message holds content or an option Magma cannot use.</exception>
    /// <exception cref="MagmaInputException">The request cannot run (unreadable image, prompt over the context, bad option values).</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using ChatRequest built = await ChatRequestBuilder.BuildAsync(this, messages, options, Model, _options, cancellationToken).ConfigureAwait(false);
        MagmaResponse response = await Model.GenerateAsync(built.Request, cancellationToken).ConfigureAwait(false);
        ChatFinishReason finish = MapFinish(response.FinishReason);
        string id = NewId();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, response.Text) { MessageId = id })
        {
            ResponseId = id,
            ModelId = ModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = finish,
            Usage = MapUsage(response.Usage),
            RawRepresentation = response,
        };
    }

    /// <inheritdoc />
    /// <remarks>
    /// Updates carry text as it settles (trimmed like the non-streaming answer, so they concatenate to the same
    /// text); the last one carries <see cref="UsageContent"/> and the finish reason.
    /// </remarks>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using ChatRequest built = await ChatRequestBuilder.BuildAsync(this, messages, options, Model, _options, cancellationToken).ConfigureAwait(false);
        string id = NewId();
        DateTimeOffset created = DateTimeOffset.UtcNow;
        var trimmer = new StreamTrimmer();
        await foreach (MagmaStreamUpdate update in Model.StreamAsync(built.Request, cancellationToken).ConfigureAwait(false))
        {
            bool last = update.FinishReason is not null;
            string text = trimmer.Push(update.Text, last);
            if (!last)
            {
                if (text.Length > 0)
                {
                    yield return NewUpdate(id, created, [new TextContent(text)]);
                }

                continue;
            }

            List<AIContent> contents = text.Length > 0 ? [new TextContent(text)] : [];
            contents.Add(new UsageContent(MapUsage(update.Usage!)));
            ChatResponseUpdate final = NewUpdate(id, created, contents);
            final.FinishReason = MapFinish(update.FinishReason!.Value);
            yield return final;
        }
    }

    /// <inheritdoc />
    /// <remarks>Returns <see cref="ChatClientMetadata"/>, the <see cref="MagmaModel"/>, or this client; null for keyed lookups.</remarks>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return Metadata;
        }

        if (serviceType == typeof(MagmaModel))
        {
            return Model;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Disposes the model when this client owns it (waiting for the request in flight).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && _ownsModel)
        {
            Model.Dispose();
        }
    }

    private ChatResponseUpdate NewUpdate(string id, DateTimeOffset created, IList<AIContent> contents) => new(ChatRole.Assistant, contents)
    {
        ResponseId = id,
        MessageId = id,
        ModelId = ModelId,
        CreatedAt = created,
    };

    private static string NewId() => "magma-" + Guid.NewGuid().ToString("N");

    internal static ChatFinishReason MapFinish(FinishReason reason) => reason switch
    {
        FinishReason.StopToken or FinishReason.StopString => ChatFinishReason.Stop,
        _ => ChatFinishReason.Length,
    };

    private static UsageDetails MapUsage(MagmaUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.PromptTokens + usage.CompletionTokens,
        AdditionalCounts = new() { ["magma.image_tokens"] = usage.ImageTokens },
    };
}
