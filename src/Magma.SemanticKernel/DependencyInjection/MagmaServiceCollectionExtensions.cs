using Magma.Inference;
using Magma.SemanticKernel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers Magma with a service container: the <see cref="MagmaModel"/> (loaded once, on first use, and disposed with
/// the container), an <see cref="IChatClient"/> pipeline (Magma → <c>UseOpenTelemetry("Magma.Agents")</c> →
/// <c>UseLogging</c>), and for Semantic Kernel an <see cref="IChatCompletionService"/> over that same pipeline. With a
/// <c>serviceId</c> every registration is keyed by it, so several models can live side by side.
/// </summary>
public static class MagmaServiceCollectionExtensions
{
    /// <summary>Registers <see cref="MagmaModel"/> and an <see cref="IChatClient"/> for the package at <paramref name="modelPath"/>.</summary>
    /// <param name="services">The container.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="modelOptions">Device and threading; CPU when null.</param>
    /// <param name="configure">Adjusts request defaults (system prompt, max output tokens, model id).</param>
    /// <param name="serviceId">Key of the registrations; null registers them unkeyed.</param>
    public static IServiceCollection AddMagmaChatClient(
        this IServiceCollection services, string modelPath, MagmaModelOptions? modelOptions = null,
        Action<MagmaChatClientOptions>? configure = null, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        services.AddKeyedSingleton(serviceId, (_, _) => MagmaModel.Load(modelPath, modelOptions));
        services.AddKeyedSingleton(serviceId, (sp, _) =>
        {
            var options = new MagmaChatClientOptions();
            configure?.Invoke(options);
            MagmaModel model = Resolve<MagmaModel>(sp, serviceId);
            ILoggerFactory? loggerFactory = sp.GetService<ILoggerFactory>();
            // The container owns the model (one per serviceId); the client only borrows it.
            ChatClientBuilder pipeline = new MagmaChatClient(model, options, ownsModel: false)
                .AsBuilder()
                .UseOpenTelemetry(loggerFactory, MagmaTelemetry.SourceName);
            if (loggerFactory is not null)
            {
                // UseLogging insists on a logger factory; without one in the container there is nothing to log to.
                pipeline.UseLogging(loggerFactory);
            }

            return pipeline.Build(sp);
        });
        return services;
    }

    /// <summary>Registers Magma on <paramref name="device"/> with default request settings.</summary>
    /// <param name="services">The container.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="device">CPU or CUDA.</param>
    /// <param name="serviceId">Key of the registrations; null registers them unkeyed.</param>
    public static IServiceCollection AddMagmaChatClient(this IServiceCollection services, string modelPath, MagmaDevice device, string? serviceId = null) =>
        services.AddMagmaChatClient(modelPath, new MagmaModelOptions { Device = device }, null, serviceId);

    /// <summary>
    /// <see cref="AddMagmaChatClient(IServiceCollection, string, MagmaModelOptions?, Action{MagmaChatClientOptions}?, string?)"/>
    /// plus a Semantic Kernel <see cref="IChatCompletionService"/> over the same client and model.
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
        services.AddMagmaChatClient(modelPath, modelOptions, configure, serviceId);
        // SK's own bridge: it maps ChatHistory items (ImageContent -> DataContent/UriContent) and settings
        // (PromptExecutionSettings -> ChatOptions) and reports the model id from the client's metadata.
        services.AddKeyedSingleton(serviceId, (sp, _) => Resolve<IChatClient>(sp, serviceId).AsChatCompletionService(sp));
        return services;
    }

    private static T Resolve<T>(IServiceProvider sp, string? serviceId) where T : notnull =>
        serviceId is null ? sp.GetRequiredService<T>() : sp.GetRequiredKeyedService<T>(serviceId);
}
