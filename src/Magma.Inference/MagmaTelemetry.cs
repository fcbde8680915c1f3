using System.Diagnostics;
using System.Diagnostics.Metrics;
using Magma.Inference.Generation;

namespace Magma.Inference;

/// <summary>
/// Names of Magma's own traces and metrics, all recorded by <see cref="MagmaModel"/> for every request, whoever sends
/// it (a chat client, Semantic Kernel, a plugin, the task extensions or your own code). Subscribe to
/// <see cref="SourceName"/> for both (OpenTelemetry: <c>AddSource("Magma.Agents")</c>, <c>AddMeter("Magma.Agents")</c>).
/// The standard <c>gen_ai.*</c> spans and metrics come from Microsoft.Extensions.AI's <c>UseOpenTelemetry</c> in the
/// chat client pipeline, under the source name given there.
/// </summary>
public static class MagmaTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> and <see cref="Meter"/> name: "Magma.Agents".</summary>
    public const string SourceName = "Magma.Agents";

    /// <summary>
    /// Span of one request (<see cref="MagmaModel.GenerateAsync"/> or <see cref="MagmaModel.StreamAsync"/>): tags
    /// <c>gen_ai.request.model</c>, <c>magma.streaming</c>, <c>gen_ai.usage.input_tokens</c>,
    /// <c>gen_ai.usage.output_tokens</c>, <c>magma.usage.image_tokens</c>, <c>magma.finish_reason</c>.
    /// </summary>
    public const string GenerateSpan = "magma.generate";

    /// <summary>Span of one <see cref="MagmaModel.GenerateBatchAsync"/> call (tag <c>magma.batch_size</c>).</summary>
    public const string GenerateBatchSpan = "magma.generate_batch";

    /// <summary>Histogram, seconds: one request from the call to its last token (tag <c>magma.finish_reason</c>: <c>stop</c> or <c>length</c>).</summary>
    public const string RequestDurationMetric = "magma.request.duration";

    /// <summary>Counter, tokens: tag <c>magma.token.type</c> is <c>input</c>, <c>output</c> or <c>image</c> (image embeddings, part of input).</summary>
    public const string TokensMetric = "magma.tokens";

    /// <summary>Histogram, seconds: tag <c>magma.stage</c> is <c>vision</c>, <c>prefill</c> or <c>decode</c>.</summary>
    public const string StageDurationMetric = "magma.stage.duration";

    internal const string Vision = "vision";
    internal const string Prefill = "prefill";
    internal const string Decode = "decode";

    private static readonly ActivitySource s_source = new(SourceName);

    private static readonly Meter s_meter = new(SourceName);

    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram<double>(
        RequestDurationMetric, "s", "Time of one Magma request, from the call to its last token.");

    private static readonly Counter<long> s_tokens = s_meter.CreateCounter<long>(
        TokensMetric, "{token}", "Tokens of Magma requests by type (input, output, image).");

    private static readonly Histogram<double> s_stage = s_meter.CreateHistogram<double>(
        StageDurationMetric, "s", "Time of one engine stage of one request (tag magma.stage: vision, prefill or decode).");

    /// <summary>Starts a request's span and clock; recording is a no-op unless a listener is attached.</summary>
    internal static RequestTelemetry StartRequest(string modelId, bool streaming)
    {
        Activity? activity = s_source.StartActivity(GenerateSpan, ActivityKind.Internal);
        activity?.SetTag("gen_ai.request.model", modelId);
        activity?.SetTag("magma.streaming", streaming);
        return new RequestTelemetry(activity, Stopwatch.GetTimestamp());
    }

    /// <summary>Starts the span of a batch; its requests' metrics are recorded with <see cref="RequestTelemetry.Complete"/> each.</summary>
    internal static Activity? StartBatch(string modelId, int size)
    {
        Activity? activity = s_source.StartActivity(GenerateBatchSpan, ActivityKind.Internal);
        activity?.SetTag("gen_ai.request.model", modelId);
        activity?.SetTag("magma.batch_size", size);
        return activity;
    }

    internal static void RecordStage(string stage, TimeSpan elapsed) =>
        s_stage.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("magma.stage", stage));

    /// <summary>The finish reason as the chat APIs name it: <c>stop</c> (a stop token or string) or <c>length</c>.</summary>
    internal static string FinishName(FinishReason reason) =>
        reason is FinishReason.StopToken or FinishReason.StopString ? "stop" : "length";

    /// <summary>One request's span and start time.</summary>
    internal readonly struct RequestTelemetry(Activity? activity, long startTimestamp) : IDisposable
    {
        /// <summary>Records the request's duration and tokens, and tags its span (when there is one).</summary>
        public void Complete(MagmaUsage usage, FinishReason finish)
        {
            string reason = FinishName(finish);
            s_duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("magma.finish_reason", reason));
            s_tokens.Add(usage.PromptTokens, new KeyValuePair<string, object?>("magma.token.type", "input"));
            s_tokens.Add(usage.CompletionTokens, new KeyValuePair<string, object?>("magma.token.type", "output"));
            s_tokens.Add(usage.ImageTokens, new KeyValuePair<string, object?>("magma.token.type", "image"));
            if (activity is not null)
            {
                activity.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
                activity.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
                activity.SetTag("magma.usage.image_tokens", usage.ImageTokens);
                activity.SetTag("magma.finish_reason", reason);
            }
        }

        /// <summary>Marks the span failed with the exception's type.</summary>
        public void Fail(Exception error)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            activity?.SetTag("error.type", error.GetType().FullName);
        }

        public void Dispose() => activity?.Dispose();
    }
}
