using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Magma.Plugins.Robotics.Evaluation;

/// <summary>Success rate and timings of one task.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="TaskId">The task id.</param>
/// <param name="Instruction">The task's instruction.</param>
/// <param name="Episodes">Episodes run.</param>
/// <param name="Successes">Successful episodes.</param>
/// <param name="Errors">Episodes ended by an error.</param>
public sealed record TaskSummary(string Suite, int TaskId, string Instruction, int Episodes, int Successes, int Errors)
{
    /// <summary>Successes / episodes.</summary>
    public double SuccessRate => Episodes == 0 ? 0 : (double)Successes / Episodes;
}

/// <summary>Success rate of one suite.</summary>
/// <param name="Suite">The suite.</param>
/// <param name="Episodes">Episodes run.</param>
/// <param name="Successes">Successful episodes.</param>
public sealed record SuiteSummary(string Suite, int Episodes, int Successes)
{
    /// <summary>Successes / episodes.</summary>
    public double SuccessRate => Episodes == 0 ? 0 : (double)Successes / Episodes;
}

/// <summary>Mean per-policy-step times over all episodes, in milliseconds.</summary>
/// <param name="PolicySteps">Policy steps timed.</param>
/// <param name="ObserveMs">Mean frame transform + video time per step.</param>
/// <param name="ModelMs">Mean policy time per step.</param>
/// <param name="StepMs">Mean <c>env.step</c> time per step (marshalling and frame copy included).</param>
public sealed record StepTimings(long PolicySteps, double ObserveMs, double ModelMs, double StepMs);

/// <summary>The result of a LIBERO evaluation, written as <c>report.json</c> and <c>report.md</c>.</summary>
/// <param name="Tasks">Per task.</param>
/// <param name="Suites">Per suite.</param>
/// <param name="Timings">Per-step timings.</param>
/// <param name="Episodes">Every episode.</param>
/// <param name="TrialsPerTask">Trials requested per task.</param>
/// <param name="WaitSteps">Wait steps used.</param>
/// <param name="MaxStepsOverride">Max steps if overridden, else null (the suite's reference value).</param>
public sealed record EvaluationReport(
    IReadOnlyList<TaskSummary> Tasks, IReadOnlyList<SuiteSummary> Suites, StepTimings Timings,
    IReadOnlyList<EpisodeResult> Episodes, int TrialsPerTask, int WaitSteps, int? MaxStepsOverride)
{
    private static readonly JsonSerializerOptions ReportJson = new() { WriteIndented = true };

    /// <summary>Successes / episodes over everything.</summary>
    public double SuccessRate => Episodes.Count == 0 ? 0 : (double)Episodes.Count(e => e.Success) / Episodes.Count;

    /// <summary>Builds the report from episode results.</summary>
    public static EvaluationReport From(IEnumerable<EpisodeResult> episodes, LiberoEvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        ArgumentNullException.ThrowIfNull(options);
        List<EpisodeResult> list = [.. episodes.OrderBy(e => e.Suite, StringComparer.Ordinal).ThenBy(e => e.TaskId).ThenBy(e => e.Trial)];
        List<TaskSummary> tasks = [.. list.GroupBy(e => (e.Suite, e.TaskId)).Select(g => new TaskSummary(
            g.Key.Suite, g.Key.TaskId, g.First().Instruction, g.Count(), g.Count(e => e.Success), g.Count(e => e.Error is not null)))];
        List<SuiteSummary> suites = [.. list.GroupBy(e => e.Suite).Select(g => new SuiteSummary(g.Key, g.Count(), g.Count(e => e.Success)))];
        long steps = list.Sum(e => (long)e.Timings.PolicySteps);
        StepTimings timings = steps == 0
            ? new StepTimings(0, 0, 0, 0)
            : new StepTimings(steps, list.Sum(e => e.Timings.ObserveMs) / steps, list.Sum(e => e.Timings.ModelMs) / steps, list.Sum(e => e.Timings.StepMs) / steps);
        return new EvaluationReport(tasks, suites, timings, list, options.TrialsPerTask, options.Episode.WaitSteps, options.Episode.MaxSteps);
    }

    /// <summary>Writes <c>report.json</c> and <c>report.md</c> into <paramref name="directory"/>.</summary>
    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "report.json"), JsonSerializer.Serialize(this, ReportJson));
        File.WriteAllText(Path.Combine(directory, "report.md"), ToMarkdown());
    }

    /// <summary>The markdown report.</summary>
    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("# LIBERO evaluation").AppendLine();
        sb.AppendLine(c, $"Protocol: {TrialsPerTask} trials per task over the stored init states, {WaitSteps} wait steps with the dummy action, ")
          .AppendLine(c, $"max steps {(MaxStepsOverride is int m ? m.ToString(c) : "per suite (spatial 220, object 280, goal 300, 10: 520, other 400)")}, success = `done`.")
          .AppendLine();
        sb.AppendLine("| suite | episodes | successes | success rate |").AppendLine("| --- | ---: | ---: | ---: |");
        foreach (SuiteSummary s in Suites)
        {
            sb.AppendLine(c, $"| {s.Suite} | {s.Episodes} | {s.Successes} | {s.SuccessRate * 100:F1}% |");
        }

        sb.AppendLine(c, $"| **all** | {Episodes.Count} | {Episodes.Count(e => e.Success)} | {SuccessRate * 100:F1}% |").AppendLine();
        sb.AppendLine("| suite | task | instruction | episodes | successes | errors | success rate |").AppendLine("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (TaskSummary t in Tasks)
        {
            sb.AppendLine(c, $"| {t.Suite} | {t.TaskId} | {t.Instruction.Replace("|", "\\|", StringComparison.Ordinal)} | {t.Episodes} | {t.Successes} | {t.Errors} | {t.SuccessRate * 100:F1}% |");
        }

        sb.AppendLine().AppendLine(c, $"Per policy step ({Timings.PolicySteps} steps): observe {Timings.ObserveMs:F3} ms, model {Timings.ModelMs:F3} ms, env.step {Timings.StepMs:F3} ms.");
        List<EpisodeResult> errors = [.. Episodes.Where(e => e.Error is not null)];
        if (errors.Count > 0)
        {
            sb.AppendLine().AppendLine("## Errors").AppendLine();
            foreach (EpisodeResult e in errors)
            {
                sb.AppendLine(c, $"- {e.Suite} task {e.TaskId} trial {e.Trial}, step {e.Steps}: `{e.ErrorType}` {e.Error}");
            }
        }

        return sb.ToString();
    }
}
