using System.Diagnostics;
using Magma.Inference;
using Magma.Tests.Shared;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Magma.SemanticKernel.Tests;

/// <summary>
/// Magma's telemetry lives in one place (the model): one request through a DI-built pipeline records each Magma
/// instrument once, each span once, and the pipeline's <c>gen_ai.*</c> instruments once.
/// </summary>
public sealed class TelemetryTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task One_request_through_the_DI_pipeline_records_each_measurement_and_span_once(bool streaming)
    {
        var services = new ServiceCollection();
        services.AddMagmaChatClient(TinyKernelFixture.PackageDirectory, TinyKernelFixture.ModelOptions)
            .UseOpenTelemetry(sourceName: MagmaTelemetry.SourceName);
        await using ServiceProvider provider = services.BuildServiceProvider();
        IChatClient client = provider.GetRequiredService<IChatClient>();

        ChatMessage[] messages = [new(ChatRole.User, [new DataContent(TinyKernelFixture.Picture(35).EncodePng(), "image/png"), new TextContent("What is this?")])];
        var options = new ChatOptions { MaxOutputTokens = 4 };
        (List<(string Name, string? Kind)> measurements, List<Activity> ours) = await TelemetryRecording.RecordAsync(async () =>
        {
            if (streaming)
            {
                await foreach (ChatResponseUpdate _ in client.GetStreamingResponseAsync(messages, options))
                {
                }
            }
            else
            {
                await client.GetResponseAsync(messages, options);
            }
        });

        (string, string?)[] magma =
        [
            (MagmaTelemetry.RequestDurationMetric, null),
            (MagmaTelemetry.TokensMetric, "input"), (MagmaTelemetry.TokensMetric, "output"), (MagmaTelemetry.TokensMetric, "image"),
            (MagmaTelemetry.StageDurationMetric, "vision"), (MagmaTelemetry.StageDurationMetric, "prefill"), (MagmaTelemetry.StageDurationMetric, "decode"),
        ];
        Assert.Equal(magma.Order(), measurements.Where(m => m.Name.StartsWith("magma.", StringComparison.Ordinal)).Order());
        // The gen_ai.* per-request instruments once each; time_per_output_chunk is per streamed chunk by the semantic conventions.
        var standard = measurements.Where(m => m.Name.StartsWith("gen_ai.", StringComparison.Ordinal) && m.Name != "gen_ai.client.operation.time_per_output_chunk").ToList();
        Assert.Contains(("gen_ai.client.operation.duration", (string?)null), standard);
        Assert.True(standard.Distinct().Count() == standard.Count, string.Join(", ", standard));

        Activity chat = Assert.Single(ours, a => a.GetTagItem("gen_ai.operation.name") as string == "chat");
        Activity generate = Assert.Single(ours, a => a.OperationName == MagmaTelemetry.GenerateSpan);
        Assert.Equal(2, ours.Count);
        Assert.Equal(chat.SpanId, generate.ParentSpanId);
        Assert.Equal(streaming, generate.GetTagItem("magma.streaming"));
        Assert.Equal(4, generate.GetTagItem("gen_ai.usage.output_tokens"));
    }
}
