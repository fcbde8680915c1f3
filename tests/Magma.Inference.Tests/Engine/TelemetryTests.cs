using System.Diagnostics;
using System.Diagnostics.Metrics;
using Magma.Inference.Generation;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Engine;

/// <summary><see cref="MagmaTelemetry"/>: the model records each request once, whoever calls it.</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class TelemetryTests(TinyMagmaFixture fixture)
{
    private const string TestSourceName = "Magma.Inference.Tests.Telemetry";

    private static readonly ActivitySource s_test = new(TestSourceName);

    private static MagmaRequest Text(string question) =>
        new() { Turns = MagmaPrompts.Conversation(question), Options = new GenerationOptions { MaxNewTokens = 3, StopTokenIds = [] } };

    [Fact]
    public async Task A_direct_request_records_its_duration_tokens_stages_and_span_once()
    {
        (List<(string Name, string? Kind)> measurements, List<Activity> spans) = await Record(() => fixture.Model.GenerateAsync(Text("Hi.")));

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
        (List<(string Name, string? Kind)> measurements, List<Activity> spans) = await Record(() => fixture.Model.GenerateBatchAsync([Text("Hi."), Text("What is two plus two?")]));

        Assert.Equal(2, measurements.Count(m => m.Name == MagmaTelemetry.RequestDurationMetric));
        Assert.Equal(2, measurements.Count(m => m == (MagmaTelemetry.TokensMetric, "output")));
        Activity batch = Assert.Single(spans, s => s.OperationName == MagmaTelemetry.GenerateBatchSpan);
        Assert.Equal(2, batch.GetTagItem("magma.batch_size"));
    }

    /// <summary>Magma's measurements and spans recorded inside one test trace (other tests run in parallel).</summary>
    private static async Task<(List<(string Name, string? Kind)> Measurements, List<Activity> Spans)> Record(Func<Task> run)
    {
        ActivityTraceId? trace = null;
        var measurements = new List<(string Name, string? Kind)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MagmaTelemetry.SourceName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        void Add(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (Activity.Current?.TraceId != trace)
            {
                return;
            }

            string? kind = null;
            foreach (KeyValuePair<string, object?> t in tags)
            {
                kind ??= t.Key is "magma.stage" or "magma.token.type" ? t.Value as string : null;
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, kind));
            }
        }

        meters.SetMeasurementEventCallback<double>((i, _, t, _) => Add(i, t));
        meters.SetMeasurementEventCallback<long>((i, _, t, _) => Add(i, t));
        meters.Start();
        var spans = new List<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name is MagmaTelemetry.SourceName or TestSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) { spans.Add(a); } },
        };
        ActivitySource.AddActivityListener(activities);
        using (Activity root = s_test.StartActivity("one call")!)
        {
            trace = root.TraceId;
            await run();
        }

        lock (spans)
        {
            return (measurements, [.. spans.Where(s => s.TraceId == trace && s.Source.Name == MagmaTelemetry.SourceName)]);
        }
    }
}
