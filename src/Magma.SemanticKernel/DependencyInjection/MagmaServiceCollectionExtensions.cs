using Magma.Inference;
using Magma.SemanticKernel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers Magma with a service container: the <see cref="MagmaModel"/> (loaded once, on first use, and disposed with
/// the container) and an <see cref="IChatClient"/> whose pipeline you compose on the returned
/// <see cref="ChatClientBuilder"/>, as Microsoft.Extensions.AI's <c>AddChatClient</c> does; for Semantic Kernel also
/// an <see cref="IChatCompletionService"/> over a default pipeline. With a <c>serviceId</c> every registration is keyed
/// by it, so several models can live side by side.
/// </summary>
/// <remarks>
/// Magma's own spans and metrics (<see cref="MagmaTelemetry"/>) are recorded by the model whatever the pipeline; the
/// pipeline adds the standard <c>gen_ai.*</c> ones (<c>UseOpenTelemetry</c>), logging (<c>UseLogging</c>) and whatever
/// else you choose.
/// </remarks>
public static class MagmaServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="MagmaModel"/> and an <see cref="IChatClient"/> for the package at <paramref name="modelPath"/>,
    /// and returns the client's pipeline builder: nothing is added around <see cref="MagmaChatClient"/> unless you add it,
    /// e.g. <c>.UseOpenTelemetry(sourceName: MagmaTelemetry.SourceName).UseLogging()</c>. The pipeline is built when the
    /// client is first resolved, so stages may be added after this call.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="modelOptions">Device and threading; CPU when null.</param>
    /// <param name="configure">Adjusts request defaults (system prompt, max output tokens, model id).</param>
    /// <param name="serviceId">Key of the registrations; null registers them unkeyed.</param>
    /// <returns>The builder of the registered client's pipeline.</returns>
    public static ChatClientBuilder AddMagmaChatClient(
        this IServiceCollection services, string modelPath, MagmaModelOptions? modelOptions = null,
        Action<MagmaChatClientOptions>? configure = null, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        services.AddKeyedSingleton(serviceId, (_, _) => MagmaModel.Load(modelPath, modelOptions));
        IChatClient Magma(IServiceProvider sp)
        {
            var options = new MagmaChatClientOptions();
            configure?.Invoke(options);
            // The container owns the model (one per serviceId); the client only borrows it.
            return new MagmaChatClient(Resolve<MagmaModel>(sp, serviceId), options, ownsModel: false);
        }

        return serviceId is null ? services.AddChatClient(Magma) : services.AddKeyedChatClient(serviceId, Magma);
    }

    /// <summary>Registers Magma on <paramref name="device"/> with default request settings; returns the client's pipeline builder.</summary>
    /// <param name="services">The container.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="device">CPU or CUDA.</param>
    /// <param name="serviceId">Key of the registrations; null registers them unkeyed.</param>
    /// <returns>The builder of the registered client's pipeline.</returns>
    public static ChatClientBuilder AddMagmaChatClient(this IServiceCollection services, string modelPath, MagmaDevice device, string? serviceId = null) =>
        services.AddMagmaChatClient(modelPath, new MagmaModelOptions { Device = device }, null, serviceId);

    /// <summary>
    /// <see cref="AddMagmaChatClient(IServiceCollection, string, MagmaModelOptions?, Action{MagmaChatClientOptions}?, string?)"/>
    /// with Semantic Kernel's default pipeline, plus an <see cref="IChatCompletionService"/> over that client. The
    /// pipeline is the one SK's own chat client registrations build: Magma →
    /// <c>UseOpenTelemetry(sourceName: "Magma.Agents")</c> (<c>gen_ai.*</c> spans and metrics under Magma's name) →
    /// <c>UseLogging</c> (when the container has an <see cref="ILoggerFactory"/>).
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="modelOptions">Device and threading; CPU when null.</param>
    /// <param name="configure">Adjusts request defaults (system prompt, max output tokens, model id).</param>
    /// <param name="serviceId">Key of the registrations (SK's service id); null registers them unkeyed.</param>
    public static IServiceCollection AddMagmaChatCompletion(
        this IServiceCollection services, string modelPath, MagmaModelOptions? modelOptions = null,
        Action<MagmaChatClientOptions>? configure = null, string? serviceId = null)
    {
        services.AddMagmaChatClient(modelPath, modelOptions, configure, serviceId)
            .UseOpenTelemetry(sourceName: MagmaTelemetry.SourceName)
            // UseLogging insists on a logger factory; without one in the container there is nothing to log to.
            .Use((inner, sp) => sp.GetService<ILoggerFactory>() is { } loggers ? inner.AsBuilder().UseLogging(loggers).Build(sp) : inner);
        // SK's own bridge: it maps ChatHistory items (ImageContent -> DataContent/UriContent) and settings
        // (PromptExecutionSettings -> ChatOptions) and reports the model id from the client's metadata.
        services.AddKeyedSingleton(serviceId, (sp, _) => Resolve<IChatClient>(sp, serviceId).AsChatCompletionService(sp));
        return services;
    }

    private static T Resolve<T>(IServiceProvider sp, string? serviceId) where T : notnull =>
        serviceId is null ? sp.GetRequiredService<T>() : sp.GetRequiredKeyedService<T>(serviceId);
}
