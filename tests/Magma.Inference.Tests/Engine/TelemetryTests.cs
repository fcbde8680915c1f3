using System.Diagnostics;
using Magma.Inference.Generation;
using Magma.Inference.Text;
using Magma.Tests.Shared;

namespace Magma.Inference.Tests.Engine;

/// <summary><see cref="MagmaTelemetry"/>: the model records each request once, whoever calls it.</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class TelemetryTests(TinyMagmaFixture fixture)
{
    private static MagmaRequest Text(string question) =>
        new() { Turns = MagmaPrompts.Conversation(question), Options = new GenerationOptions { MaxNewTokens = 3, StopTokenIds = [] } };

    [Fact]
    public async Task A_direct_request_records_its_duration_tokens_stages_and_span_once()
    {
        (List<(string Name, string? Kind)> measurements, List<Activity> spans) = await TelemetryRecording.RecordAsync(() => fixture.Model.GenerateAsync(Text("Hi.")));

        (string, string?)[] expected =
        [
            (MagmaTelemetry.RequestDurationMetric, null),
            (MagmaTelemetry.TokensMetric, "input"), (MagmaTelemetry.TokensMetric, "output"), (MagmaTelemetry.TokensMetric, "image"),
            (MagmaTelemetry.StageDurationMetric, "prefill"), (MagmaTelemetry.StageDurationMetric, "decode"),
        ];
        Assert.Equal(expected.Order(), measurements.Order());
        Activity span = Assert.Single(spans);
        Assert.Equal(MagmaTelemetry.GenerateSpan, span.OperationName);
        Assert.Equal(3, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("length", span.GetTagItem("magma.finish_reason"));
    }

    [Fact]
    public async Task A_batch_records_each_request_once_under_one_batch_span()
    {
        (List<(string Name, string? Kind)> measurements, List<Activity> spans) = await TelemetryRecording.RecordAsync(() => fixture.Model.GenerateBatchAsync([Text("Hi."), Text("What is two plus two?")]));

        Assert.Equal(2, measurements.Count(m => m.Name == MagmaTelemetry.RequestDurationMetric));
        Assert.Equal(2, measurements.Count(m => m == (MagmaTelemetry.TokensMetric, "output")));
        Activity batch = Assert.Single(spans, s => s.OperationName == MagmaTelemetry.GenerateBatchSpan);
        Assert.Equal(2, batch.GetTagItem("magma.batch_size"));
    }
}
