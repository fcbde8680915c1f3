using System.Globalization;
using System.Text.Json;
using Magma.Inference;
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
    /// <exception cref="OperationCanceledException">
    /// Cancelled: the episodes in flight stop at once and are not recorded (they run again on resume, and leave no
    /// video); every finished episode is kept in episodes.jsonl.
    /// </exception>
    /// <exception cref="MagmaInputException">A task id of <see cref="LiberoEvaluationOptions.TaskIds"/> is not in a suite; nothing ran.</exception>
    public async Task<EvaluationReport> RunAsync(IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var benchmark = new LiberoBenchmark(_host);
        var catalogue = new List<(string Suite, IReadOnlyList<LiberoTask> Tasks)>();
        foreach (string suite in _options.Suites)
        {
            IReadOnlyList<LiberoTask> tasks = await benchmark.ListTasksAsync(suite, cancellationToken).ConfigureAwait(false);
            if (_options.TaskIds?.Where(id => id < 0 || id >= tasks.Count).ToArray() is { Length: > 0 } missing)
            {
                // Skipping them would make a partial evaluation look complete.
                throw new MagmaInputException(string.Create(CultureInfo.InvariantCulture,
                    $"task id {string.Join(", ", missing)} is not in {suite}, which has {tasks.Count} tasks (ids 0..{tasks.Count - 1}); list them with 'list_tasks' or LiberoBenchmark.ListTasksAsync."));
            }

            catalogue.Add((suite, tasks));
        }

        Directory.CreateDirectory(_options.OutputDirectory);
        string record = Path.Combine(_options.OutputDirectory, EpisodesFile);
        List<EpisodeResult> done = ReadRecord(record);
        EndWithNewline(record);
        var finished = new HashSet<(string, int, int)>(done.Select(e => (e.Suite, e.TaskId, e.Trial)));

        var work = new List<(LiberoTask Task, int[] Trials)>();
        int total = 0;
        foreach ((string suite, IReadOnlyList<LiberoTask> tasks) in catalogue)
        {
            foreach (LiberoTask task in tasks)
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
                LiberoEnvironment opened;
                try
                {
                    opened = await LiberoEnvironment
                        .CreateAsync(_host, unit.Task.Suite, unit.Task.TaskId, _options.Environment, cancellationToken).ConfigureAwait(false);
                }
                catch (PythonErrorException e)
                {
                    // As a Python error in a step ends only its episode, one in creating an environment fails only
                    // that task's episodes: recorded with the error, and the other tasks run.
                    foreach (int trial in unit.Trials)
                    {
                        var failed = new EpisodeResult(
                            unit.Task.Suite, unit.Task.TaskId, unit.Task.Language, trial, false, 0, e.Message, e.PythonType,
                            new EpisodeTimings(0, 0, 0, 0, 0), null);
                        Record(record, failed, results, progress, ref completed, ref successes, total);
                    }

                    return;
                }

                await using LiberoEnvironment env = opened;
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
                        VideoView = _options.VideoView,
                    };
                    EpisodeResult result = await EpisodeRunner.RunAsync(env, policy, trial, episode, null, cancellationToken).ConfigureAwait(false);
                    Record(record, result, results, progress, ref completed, ref successes, total);
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

    private void Record(
        string record, EpisodeResult result, List<EpisodeResult> results, IProgress<EvaluationProgress>? progress,
        ref int completed, ref int successes, int total)
    {
        lock (_writeLock)
        {
            Append(record, result);
            results.Add(result);
            completed++;
            successes += result.Success ? 1 : 0;
            progress?.Report(new EvaluationProgress(completed, total, successes, result));
        }
    }

    /// <summary>
    /// Ends the record with a newline when a kill tore its last line, so the next record starts on a line of its own
    /// (glued to the fragment, it would be lost on the next resume).
    /// </summary>
    internal static void EndWithNewline(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        if (stream.Length == 0)
        {
            return;
        }

        stream.Seek(-1, SeekOrigin.End);
        if (stream.ReadByte() != '\n')
        {
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
        }
    }

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
