using System.Globalization;
using System.Text.Json;
using Magma.Inference;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.WebDataGen;

/// <summary>One example answered by a model through the web policy.</summary>
internal sealed record EvalRow(string Id, int Seed, string Kind, string Style, string Action, int? TargetMark, string? Value,
    string Got, int? GotMark, string? GotValue, string RawAnswer, bool Correct, bool MarkRight, double ModelMs);

/// <summary>What <see cref="ModelEval"/> counted, by group.</summary>
internal sealed record EvalSummary(string Model, int Examples, double Correct, double MarkRight, double MedianModelMs,
    double P90ModelMs, IReadOnlyDictionary<string, double[]> ByStyle, IReadOnlyDictionary<string, double[]> ByKind,
    IReadOnlyDictionary<string, double[]> ByAction);

/// <summary>
/// Scores a model on the single-step examples of each page, on the page's own observation: the agent's step prompt
/// through <see cref="MagmaWebPolicy.DecideAsync"/> (the answer read by the policy's reader) and the grounding prompt
/// through <see cref="MagmaWebPolicy.GroundAsync"/>, greedy, with the engine the agent uses. Correct: the decision's
/// kind, mark and value (typed text, option, scroll direction) are the example's; for grounding, its mark.
/// </summary>
internal sealed class ModelEval : IDisposable
{
    private readonly MagmaModel _model;
    private readonly MagmaWebPolicy _policy;
    private readonly StreamWriter _rows;
    private readonly List<EvalRow> _all = [];

    public ModelEval(string packageDirectory, string outputFolder)
    {
        Model = Path.GetFullPath(packageDirectory);
        _model = MagmaModel.Load(packageDirectory);
        _policy = new MagmaWebPolicy(_model);
        _rows = new StreamWriter(Path.Combine(outputFolder, "eval.jsonl"));
    }

    public string Model { get; }

    public int Count => _all.Count;

    public double CorrectRate => _all.Count == 0 ? 0 : _all.Count(r => r.Correct) / (double)_all.Count;

    public async Task ScoreAsync(WebObservation observation, IReadOnlyList<Example> examples, CancellationToken ct)
    {
        foreach (Example e in examples.Where(e => e.Step is null))
        {
            EvalRow row;
            if (e.Style == "ui_click")
            {
                WebGrounding g = await _policy.GroundAsync(observation, e.Instruction, ct).ConfigureAwait(false);
                bool right = g.Mark?.Id == e.TargetMark;
                row = new EvalRow(e.Id, e.Seed, e.Kind, e.Style, e.Action, e.TargetMark, e.Value, g.Mark is null ? "NONE" : "CLICK",
                    g.Mark?.Id, null, g.RawAnswer, right, right, Math.Round(g.ModelMs, 1));
            }
            else
            {
                WebDecision d = await _policy.DecideAsync(observation, e.Instruction, [], ct).ConfigureAwait(false);
                string got = d.Kind.ToString().ToUpperInvariant();
                bool markRight = e.TargetMark is int m && d.Mark == m;
                bool valueRight = e.Action switch
                {
                    "TYPE" or "SELECT" => d.Value == e.Value,
                    "SCROLL" => string.Equals(d.Value, e.Value, StringComparison.OrdinalIgnoreCase),
                    _ => true,
                };
                bool correct = got == e.Action && (e.TargetMark is null || markRight) && valueRight;
                row = new EvalRow(e.Id, e.Seed, e.Kind, e.Style, e.Action, e.TargetMark, e.Value, got, d.Mark, d.Value, d.RawAnswer ?? "",
                    correct, markRight, Math.Round(d.ModelMs, 1));
            }

            _all.Add(row);
            await _rows.WriteLineAsync(JsonSerializer.Serialize(row, ExampleBuilder.Json)).ConfigureAwait(false);
        }

        await _rows.FlushAsync(ct).ConfigureAwait(false);
    }

    public EvalSummary Summary()
    {
        static Dictionary<string, double[]> By(IEnumerable<EvalRow> rows, Func<EvalRow, string> key) =>
            rows.GroupBy(key).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(
                g => g.Key, g => new[] { g.Count(), Math.Round(g.Count(r => r.Correct) / (double)g.Count(), 4), Math.Round(g.Count(r => r.MarkRight) / (double)g.Count(), 4) });

        double[] ms = [.. _all.Select(r => r.ModelMs).Order()];
        double Pct(double p) => ms.Length == 0 ? 0 : ms[Math.Min(ms.Length - 1, (int)Math.Floor(p * ms.Length))];
        return new EvalSummary(Model, _all.Count, Math.Round(CorrectRate, 4),
            _all.Count == 0 ? 0 : Math.Round(_all.Count(r => r.MarkRight) / (double)_all.Count, 4), Pct(0.5), Pct(0.9),
            By(_all, r => r.Style), By(_all, r => r.Kind), By(_all, r => r.Action));
    }

    public string Line() => string.Create(CultureInfo.InvariantCulture,
        $"model: {Count} examples, {CorrectRate:P1} correct, median {Summary().MedianModelMs:0} ms per answer");

    public void Dispose()
    {
        _rows.Dispose();
        _model.Dispose();
    }
}
