using System.Globalization;
using System.Text.Json;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Python;

namespace Magma.Plugins.Robotics.Evaluation;

/// <summary>
/// Runs the reference LIBERO evaluation: for each task, one environment (seeded once), N trials over the stored init
/// states, success rate per task and suite, per-step timings, a JSON and a markdown report, a video per episode.
/// Every finished episode is appended to <c>episodes.jsonl</c> at once, so an interrupted run resumes where it
/// stopped without repeating finished episodes.
/// </summary>
public sealed class LiberoEvaluator
{
    /// <summary>File name of the per-episode record in the output folder.</summary>
    public const string EpisodesFile = "episodes.jsonl";

    internal static readonly JsonSerializerOptions LineJson = new() { WriteIndented = false };

    private readonly PythonHost _host;
    private readonly Func<LiberoTask, IRobotPolicy> _policyFactory;
    private readonly LiberoEvaluationOptions _options;
    private readonly Lock _writeLock = new();

    /// <summary>Creates the evaluator.</summary>
    /// <param name="host">The Python host with LIBERO importable.</param>
    /// <param name="policyFactory">Creates one policy per task environment (they may run in parallel).</param>
    /// <param name="options">What to run and where to write.</param>
    public LiberoEvaluator(PythonHost host, Func<LiberoTask, IRobotPolicy> policyFactory, LiberoEvaluationOptions options)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(policyFactory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.TrialsPerTask);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Parallelism);
        if (options.Suites.Count == 0)
        {
            throw new ArgumentException("LiberoEvaluationOptions.Suites is empty; name at least one suite, e.g. libero_goal.", nameof(options));
        }

        _host = host;
        _policyFactory = policyFactory;
        _options = options;
    }

    /// <summary>Runs (or resumes) the evaluation and writes the reports.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; finished episodes are kept in episodes.jsonl for a resume.</exception>
    public async Task<EvaluationReport> RunAsync(IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_options.OutputDirectory);
        string record = Path.Combine(_options.OutputDirectory, EpisodesFile);
        List<EpisodeResult> done = ReadRecord(record);
        var finished = new HashSet<(string, int, int)>(done.Select(e => (e.Suite, e.TaskId, e.Trial)));

        var benchmark = new LiberoBenchmark(_host);
        var work = new List<(LiberoTask Task, int[] Trials)>();
        int total = 0;
        foreach (string suite in _options.Suites)
        {
            foreach (LiberoTask task in await benchmark.ListTasksAsync(suite, cancellationToken).ConfigureAwait(false))
            {
                if (_options.TaskIds is { } ids && !ids.Contains(task.TaskId))
                {
                    continue;
                }

                int trials = Math.Min(_options.TrialsPerTask, task.InitStateCount);
                total += trials;
                int[] pending = [.. Enumerable.Range(0, trials).Where(t => !finished.Contains((suite, task.TaskId, t)))];
                if (pending.Length > 0)
                {
                    work.Add((task, pending));
                }
            }
        }

        var results = new List<EpisodeResult>(done);
        int completed = done.Count, successes = done.Count(e => e.Success);
        progress?.Report(new EvaluationProgress(completed, total, successes, null));

        using var gate = new SemaphoreSlim(_options.Parallelism);
        await Task.WhenAll(work.Select(async unit =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using LiberoEnvironment env = await LiberoEnvironment
                    .CreateAsync(_host, unit.Task.Suite, unit.Task.TaskId, _options.Environment, cancellationToken).ConfigureAwait(false);
                IRobotPolicy policy = _policyFactory(env.Task);
                foreach (int trial in unit.Trials)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    EpisodeOptions episode = new()
                    {
                        WaitSteps = _options.Episode.WaitSteps,
                        MaxSteps = _options.Episode.MaxSteps,
                        VideoFps = _options.Episode.VideoFps,
                        VideoPath = _options.RecordVideos ? VideoPath(unit.Task, trial) : null,
                    };
                    EpisodeResult result = await EpisodeRunner.RunAsync(env, policy, trial, episode, null, cancellationToken).ConfigureAwait(false);
                    lock (_writeLock)
                    {
                        Append(record, result);
                        results.Add(result);
                        completed++;
                        successes += result.Success ? 1 : 0;
                        progress?.Report(new EvaluationProgress(completed, total, successes, result));
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        var report = EvaluationReport.From(results, _options);
        report.Write(_options.OutputDirectory);
        return report;
    }

    private string VideoPath(LiberoTask task, int trial) => Path.Combine(
        _options.OutputDirectory, "videos", task.Suite,
        string.Create(CultureInfo.InvariantCulture, $"task{task.TaskId:D2}_trial{trial:D2}.mp4"));

    private static void Append(string path, EpisodeResult result)
    {
        // One line per episode, flushed at once: a crash loses at most the episode in flight.
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        using var writer = new StreamWriter(stream);
        writer.WriteLine(JsonSerializer.Serialize(result, LineJson));
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// The episodes finished so far in an output folder (its <c>episodes.jsonl</c>), e.g. to report what a cancelled
    /// run kept; empty when the folder has none. A torn last line (killed mid-write) is ignored.
    /// </summary>
    /// <param name="outputDirectory">The evaluation's <see cref="LiberoEvaluationOptions.OutputDirectory"/>.</param>
    public static IReadOnlyList<EpisodeResult> ReadEpisodes(string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(outputDirectory);
        return ReadRecord(Path.Combine(outputDirectory, EpisodesFile));
    }

    /// <summary>Reads the finished episodes of a previous run; a torn last line (killed mid-write) is ignored.</summary>
    internal static List<EpisodeResult> ReadRecord(string path)
    {
        var list = new List<EpisodeResult>();
        if (!File.Exists(path))
        {
            return list;
        }

        foreach (string line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize<EpisodeResult>(line, LineJson) is { } e)
                {
                    list.Add(e);
                }
            }
            catch (JsonException)
            {
                // A partial line from an interrupted write: that episode runs again.
            }
        }

        return list;
    }
}
