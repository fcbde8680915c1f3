using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Magma.SemanticKernel;

/// <summary>
/// Names of Magma's traces and metrics. Subscribe to <see cref="SourceName"/> for both (OpenTelemetry:
/// <c>AddSource("Magma.Agents")</c>, <c>AddMeter("Magma.Agents")</c>). The registration helpers' pipeline adds the
/// standard <c>gen_ai.*</c> spans and metrics under the same name.
/// </summary>
public static class MagmaTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> and <see cref="Meter"/> name: "Magma.Agents".</summary>
    public const string SourceName = "Magma.Agents";

    /// <summary>Histogram, seconds: one request from the call to its last token (tag <c>magma.finish_reason</c>).</summary>
    public const string RequestDurationMetric = "magma.request.duration";

    /// <summary>Counter, tokens: tag <c>magma.token.type</c> is <c>input</c>, <c>output</c> or <c>image</c> (image embeddings, part of input).</summary>
    public const string TokensMetric = "magma.tokens";

    /// <summary>Histogram, seconds, recorded by the engine: tag <c>magma.stage</c> is <c>vision</c>, <c>prefill</c> or <c>decode</c>.</summary>
    public const string StageDurationMetric = "magma.stage.duration";

    internal static readonly ActivitySource Source = new(SourceName);

    private static readonly Meter s_meter = new(SourceName);

    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram<double>(
        RequestDurationMetric, "s", "Time of one Magma chat request, from the call to its last token.");

    private static readonly Counter<long> s_tokens = s_meter.CreateCounter<long>(
        TokensMetric, "{token}", "Tokens of Magma chat requests by type (input, output, image).");

    internal static Activity? StartRequest(string modelId, bool streaming)
    {
        Activity? activity = Source.StartActivity("magma.generate", ActivityKind.Internal);
        activity?.SetTag("gen_ai.request.model", modelId);
        activity?.SetTag("magma.streaming", streaming);
        return activity;
    }

    internal static void Complete(Activity? activity, long startTimestamp, Inference.MagmaUsage usage, string finishReason)
    {
        TimeSpan elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        var reason = new KeyValuePair<string, object?>("magma.finish_reason", finishReason);
        s_duration.Record(elapsed.TotalSeconds, reason);
        s_tokens.Add(usage.PromptTokens, new KeyValuePair<string, object?>("magma.token.type", "input"));
        s_tokens.Add(usage.CompletionTokens, new KeyValuePair<string, object?>("magma.token.type", "output"));
        s_tokens.Add(usage.ImageTokens, new KeyValuePair<string, object?>("magma.token.type", "image"));
        if (activity is not null)
        {
            activity.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
            activity.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            activity.SetTag("magma.usage.image_tokens", usage.ImageTokens);
            activity.SetTag("magma.finish_reason", finishReason);
        }
    }

    internal static void Fail(Activity? activity, Exception error)
    {
        activity?.SetStatus(ActivityStatusCode.Error, error.Message);
        activity?.SetTag("error.type", error.GetType().FullName);
    }
}
