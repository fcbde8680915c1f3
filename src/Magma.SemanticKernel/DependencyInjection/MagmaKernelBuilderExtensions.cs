using Magma.Inference;
using Magma.SemanticKernel;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.SemanticKernel;

/// <summary>Adds Magma to a Semantic Kernel <see cref="IKernelBuilder"/>.</summary>
public static class MagmaKernelBuilderExtensions
{
    /// <summary>
    /// Registers Magma as the kernel's chat completion service (and as an <c>IChatClient</c>, and the
    /// <see cref="MagmaModel"/>), loaded once and disposed with the kernel's service provider.
    /// </summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="modelOptions">Device and threading; CPU when null.</param>
    /// <param name="configure">Adjusts request defaults (system prompt, max output tokens, model id).</param>
    /// <param name="serviceId">SK service id (registrations are keyed by it); null registers them unkeyed.</param>
    public static IKernelBuilder AddMagmaChatCompletion(
        this IKernelBuilder builder, string modelPath, MagmaModelOptions? modelOptions = null,
        Action<MagmaChatClientOptions>? configure = null, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddMagmaChatCompletion(modelPath, modelOptions, configure, serviceId);
        return builder;
    }

    /// <summary>Registers Magma on <paramref name="device"/> as the kernel's chat completion service.</summary>
    /// <param name="builder">The kernel builder.</param>
    /// <param name="modelPath">The package folder (holding magma.json).</param>
    /// <param name="device">CPU or CUDA.</param>
    /// <param name="serviceId">SK service id; null registers unkeyed.</param>
    public static IKernelBuilder AddMagmaChatCompletion(this IKernelBuilder builder, string modelPath, MagmaDevice device, string? serviceId = null) =>
        builder.AddMagmaChatCompletion(modelPath, new MagmaModelOptions { Device = device }, null, serviceId);

    /// <summary>
    /// Adds <see cref="MagmaVisionPlugin"/> (describe_image, answer_about_image, ground, plan_trace) over the
    /// <see cref="MagmaModel"/> registered with <paramref name="serviceId"/>, for a planner chat model to call.
    /// </summary>
    /// <param name="builder">The kernel builder (Magma must be registered on it, e.g. by <c>AddMagmaChatCompletion</c>).</param>
    /// <param name="pluginName">The plugin name the planner sees (function names become <c>{pluginName}_{function}</c>).</param>
    /// <param name="serviceId">Which registered Magma model to use; null for the unkeyed one.</param>
    public static IKernelBuilder AddMagmaVisionPlugin(this IKernelBuilder builder, string pluginName = MagmaVisionPlugin.DefaultPluginName, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(sp =>
        {
            MagmaModel model = serviceId is null ? sp.GetRequiredService<MagmaModel>() : sp.GetRequiredKeyedService<MagmaModel>(serviceId);
            return KernelPluginFactory.CreateFromObject(new MagmaVisionPlugin(model), pluginName, sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
        });
        return builder;
    }

    /// <summary>
    /// Adds <see cref="MagmaVideoPlugin"/> (answer_about_video) over the <see cref="MagmaModel"/> registered with
    /// <paramref name="serviceId"/>, for a planner chat model to call. Needs ffmpeg for MP4/WebM/MKV.
    /// </summary>
    /// <param name="builder">The kernel builder (Magma must be registered on it, e.g. by <c>AddMagmaChatCompletion</c>).</param>
    /// <param name="pluginName">The plugin name the planner sees.</param>
    /// <param name="serviceId">Which registered Magma model to use; null for the unkeyed one.</param>
    public static IKernelBuilder AddMagmaVideoPlugin(this IKernelBuilder builder, string pluginName = MagmaVideoPlugin.DefaultPluginName, string? serviceId = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(sp =>
        {
            MagmaModel model = serviceId is null ? sp.GetRequiredService<MagmaModel>() : sp.GetRequiredKeyedService<MagmaModel>(serviceId);
            return KernelPluginFactory.CreateFromObject(new MagmaVideoPlugin(model), pluginName, sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
        });
        return builder;
    }
}
