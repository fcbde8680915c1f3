using System.Diagnostics;
using System.Diagnostics.Metrics;
using Magma.Inference;

namespace Magma.Tests.Shared;

/// <summary>
/// Records the measurements and spans of <see cref="MagmaTelemetry.SourceName"/> made inside one test's trace: other
/// tests run in parallel in the same process, so only what happens under this call's root activity counts. Shared by
/// the inference and Semantic Kernel test projects (linked source).
/// </summary>
internal static class TelemetryRecording
{
    private const string RootSourceName = "Magma.Tests.Telemetry";

    private static readonly ActivitySource s_root = new(RootSourceName);

    /// <summary>Runs <paramref name="run"/> under a root activity and returns (instrument, kind tag) pairs and the Magma spans.</summary>
    public static async Task<(List<(string Name, string? Kind)> Measurements, List<Activity> Spans)> RecordAsync(Func<Task> run)
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
                kind ??= t.Key is "magma.stage" or "magma.token.type" or "gen_ai.token.type" ? t.Value as string : null;
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, kind));
            }
        }

        meters.SetMeasurementEventCallback<double>((i, _, t, _) => Add(i, t));
        meters.SetMeasurementEventCallback<long>((i, _, t, _) => Add(i, t));
        meters.SetMeasurementEventCallback<int>((i, _, t, _) => Add(i, t));
        meters.Start();
        var spans = new List<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name is MagmaTelemetry.SourceName or RootSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) { spans.Add(a); } },
        };
        ActivitySource.AddActivityListener(activities);
        using (Activity root = s_root.StartActivity("one test call")!)
        {
            trace = root.TraceId;
            await run();
        }

        lock (measurements)
        lock (spans)
        {
            return ([.. measurements], [.. spans.Where(s => s.TraceId == trace && s.Source.Name == MagmaTelemetry.SourceName)]);
        }
    }
}
