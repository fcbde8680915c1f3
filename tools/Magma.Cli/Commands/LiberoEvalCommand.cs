using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Magma.Inference;
using Magma.Plugins.Robotics.Evaluation;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Policy;
using Magma.Plugins.Robotics.Python;

namespace Magma.Cli.Commands;

/// <summary>
/// <c>magma libero-eval</c>: the robotics plugin's <see cref="LiberoEvaluator"/> (reference protocol, resumable
/// <c>episodes.jsonl</c>, report.json/report.md, videos) with progress, a results table and <c>--json</c>.
/// </summary>
internal static class LiberoEvalCommand
{
    public static Command Create()
    {
        var model = new ModelArguments(defaultMaxTokens: 8) { ModelRequired = false };
        var policy = new Option<string>("--policy", "-p")
        {
            Description = "Who acts: magma (the model of --model; the default when --model is given) or replay (the actions of --actions, then the last one repeated).",
        };
        policy.AcceptOnlyFromAmong("magma", "replay");
        var actions = new Option<string>("--actions") { Description = "With --policy replay: a JSON file holding an array of 7-value actions, e.g. [[0,0,0,0,0,0,-1]]." };
        var suites = new Option<string[]>("--suite", "-s")
        {
            Description = "LIBERO suite(s) to evaluate: libero_spatial, libero_object, libero_goal, libero_10, libero_90, libero_100; repeatable.",
            HelpName = "suite",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        suites.AcceptOnlyFromAmong([.. LiberoProtocol.Suites]);
        var trials = new Option<int>("--trials", "-n") { Description = "Trials per task, over the stored init states 0..N-1 (the reference runs 50).", DefaultValueFactory = _ => LiberoProtocol.TrialsPerTask };
        var tasks = new Option<int[]>("--tasks", "-t") { Description = "Task ids to run in every suite (default: all); an id a suite does not have is an error.", AllowMultipleArgumentsPerToken = true };
        var maxSteps = new Option<int?>("--max-steps") { Description = "Policy steps per episode (default: the suite's reference value, e.g. 300 for libero_goal)." };
        var parallel = new Option<int>("--parallel") { Description = "Tasks run at once, each in its own environment and thread (the model is shared).", DefaultValueFactory = _ => 1 };
        var noVideo = new Option<bool>("--no-video") { Description = "Do not write a video per episode." };
        var videoView = new Option<string>("--video-view")
        {
            Description = "Orientation of the videos: camera (what the camera sees, as LIBERO's own videos; the default) or model-input (rotated 180°, as Magma's and OpenVLA's evaluation scripts save it: mirrored left to right).",
            DefaultValueFactory = _ => "camera",
        };
        videoView.AcceptOnlyFromAmong("camera", "model-input");
        var python = new Option<string>("--python") { Description = "The libpython3.x.so to embed (default: MAGMA_PYTHON_LIBRARY, PYTHONNET_PYDLL, then the system Python)." };
        var pythonExe = new Option<string>("--python-exe") { Description = "The python executable of the environment where LIBERO is installed (a venv's or conda's bin/python), so its site-packages are found." };
        var liberoPath = new Option<string>("--libero-path") { Description = "A folder put first on sys.path (a LIBERO checkout that is not pip-installed)." };
        var output = new Option<string>("--out", "-o") { Description = "Output folder: episodes.jsonl (resumable record), report.json, report.md, videos/. Re-run with the same folder to resume.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (per suite, per task, timings, every episode) instead of the table; progress lines go to stderr." };
        var command = new Command("libero-eval", "Evaluate a robot policy on LIBERO with the reference protocol (resumable).")
        {
            policy, actions, suites, trials, tasks, maxSteps, parallel, noVideo, videoView, python, pythonExe, liberoPath, output, json,
        };
        model.AddTo(command, maxTokens: false);
        CliHelp.SetEpilogue(command, """
            Examples:
              magma libero-eval -m ./magma-8b-libero-goal-onnx --cuda --suite libero_goal --trials 50 \
                  --python-exe ~/libero-env/bin/python --out eval/goal
              magma libero-eval --policy replay --actions still.json --suite libero_goal --trials 2 --no-video --out /tmp/check

            LIBERO runs in an embedded CPython (pythonnet): --python picks the libpython, --python-exe the environment
            whose site-packages hold LIBERO. For headless rendering export MUJOCO_GL=egl (or osmesa) before running.
            Resumable: every finished episode is appended to <out>/episodes.jsonl at once; run the same command
            again with the same --out and only the unfinished episodes run.
            Ctrl+C stops at once: the episodes in flight are dropped (no video is left for them; they run again on
            resume) and every finished one is kept (report written, exit 130).

            Exit codes: 0 done, 1 package/Python/LIBERO error or a task id the suite does not have, 2 usage, 130 cancelled.
            """);
        CliOptions.AtLeastOne(trials);
        CliOptions.AtLeastOne(parallel);
        command.Validators.Add(r =>
        {
            string? p = r.GetValue(policy);
            bool hasModel = r.GetResult(model.Model) is not null, hasActions = r.GetResult(actions) is not null;
            if (p is null && !hasModel)
            {
                r.AddError("Give --model <package> (the Magma policy) or --policy replay --actions <file>.");
            }
            else if (p is "replay" && (hasModel || !hasActions))
            {
                r.AddError("--policy replay takes --actions <file> and no --model.");
            }
            else if (p is "magma" or null && hasActions)
            {
                r.AddError("--actions is for --policy replay.");
            }
            else if (p is "magma" && !hasModel)
            {
                r.AddError("--policy magma needs --model <package>.");
            }

            if (r.GetValue(maxSteps) is < 1)
            {
                r.AddError("--max-steps must be at least 1.");
            }
        });
        command.SetAction((parse, ct) => CliErrors.GuardAsync(parse.InvocationConfiguration.Error, async () =>
        {
            var evaluation = new LiberoEvaluationOptions
            {
                Suites = parse.GetRequiredValue(suites),
                TaskIds = parse.GetValue(tasks) is { Length: > 0 } t ? t : null,
                TrialsPerTask = parse.GetValue(trials),
                OutputDirectory = Path.GetFullPath(parse.GetRequiredValue(output)),
                Parallelism = parse.GetValue(parallel),
                RecordVideos = !parse.GetValue(noVideo),
                VideoView = parse.GetValue(videoView) == "model-input" ? EpisodeVideoView.ModelInput : EpisodeVideoView.Camera,
                Episode = new EpisodeOptions { MaxSteps = parse.GetValue(maxSteps) },
            };
            var host = new PythonHostOptions
            {
                LibraryPath = parse.GetValue(python),
                PythonExecutable = parse.GetValue(pythonExe),
                SysPaths = parse.GetValue(liberoPath) is { } lp ? [Path.GetFullPath(lp)] : [],
            };
            string? actionsFile = parse.GetValue(actions);
            return await RunAsync(parse, model, actionsFile, host, evaluation, parse.GetValue(json), ct).ConfigureAwait(false);
        }, ct));
        return command;
    }

    private static async Task<int> RunAsync(
        ParseResult parse, ModelArguments args, string? actionsFile, PythonHostOptions hostOptions, LiberoEvaluationOptions options, bool json, CancellationToken ct)
    {
        TextWriter output = parse.InvocationConfiguration.Output, error = parse.InvocationConfiguration.Error;
        // Policy inputs first (actions file, package statistics): they fail in milliseconds, Python and LIBERO in seconds.
        IReadOnlyList<double[]>? replay = actionsFile is null ? null : ReadActions(actionsFile);
        await using MagmaModel? model = replay is null ? args.Load(parse) : null;
        if (model is not null)
        {
            foreach (string suite in options.Suites)
            {
                _ = MagmaPolicy.ForSuite(model, suite);
            }
        }

        Func<LiberoTask, IRobotPolicy> factory = replay is not null
            ? _ => new ReplayPolicy(replay, replay[^1])
            : task => MagmaPolicy.ForSuite(model!, task.Suite);

        PythonHost host;
        try
        {
            host = PythonHost.Start(hostOptions);
        }
        catch (FileNotFoundException e)
        {
            await error.WriteLineAsync($"magma: {e.Message} Pass --python <libpython3.x.so>.").ConfigureAwait(false);
            return ExitCodes.Error;
        }

        int total = 0, resumed = 0;
        bool cancelled = false;
        EvaluationReport report;
        try
        {
            report = await CliConsole.WithProgressAsync(output, error, json, string.Join(", ", options.Suites), report =>
            {
                var progress = new SyncProgress<EvaluationProgress>(p =>
                {
                    total = p.Total;
                    if (p.Last is not { } e)
                    {
                        resumed = p.Completed;
                        report(p.Completed, p.Total, p.Completed > 0
                            ? $"resuming: {p.Completed} of {p.Total} episodes already finished in {options.OutputDirectory}"
                            : $"{p.Total} episodes, Python {host.Version.Split(' ')[0]}");
                        return;
                    }

                    report(p.Completed, p.Total, string.Create(CultureInfo.InvariantCulture,
                        $"{e.Suite} task {e.TaskId} trial {e.Trial}: {(e.Success ? "success" : e.Error is null ? "failure" : "error")} in {e.Steps} steps ({p.Successes} successes)"));
                });
                return new LiberoEvaluator(host, factory, options).RunAsync(progress, ct);
            }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Every finished episode is in episodes.jsonl: report those, so the table says what the run got to.
            cancelled = true;
            report = EvaluationReport.From(LiberoEvaluator.ReadEpisodes(options.OutputDirectory), options);
            report.Write(options.OutputDirectory);
        }
        catch (PythonErrorException e)
        {
            await error.WriteLineAsync($"magma: Python {e.PythonType} during {e.Operation}: {e.PythonMessage} " +
                "(is LIBERO importable? pass --python-exe of its environment or --libero-path of its checkout)").ConfigureAwait(false);
            return ExitCodes.Error;
        }

        var result = new LiberoEvalResult(options.OutputDirectory, total, resumed, cancelled, report.SuccessRate, report.Suites, report.Tasks, report.Timings, report.Episodes);
        if (json)
        {
            await output.WriteLineAsync(CliJson.Serialize(result)).ConfigureAwait(false);
        }
        else
        {
            WriteTable(output, result);
        }

        if (cancelled)
        {
            string of = total > 0 ? string.Create(CultureInfo.InvariantCulture, $" of {total}") : "";
            await error.WriteLineAsync($"magma: cancelled; {report.Episodes.Count}{of} episodes are finished and kept in {Path.Combine(options.OutputDirectory, LiberoEvaluator.EpisodesFile)}; run the same command again to resume.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }

        return ExitCodes.Success;
    }

    private static void WriteTable(TextWriter output, LiberoEvalResult r)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var table = CliConsole.Table(3, "suite", "task", "instruction", "episodes", "successes", "errors", "success");
        foreach (TaskSummary t in r.Tasks)
        {
            table.AddRow([t.Suite, t.TaskId.ToString(c), t.Instruction, t.Episodes.ToString(c), t.Successes.ToString(c), t.Errors.ToString(c), string.Create(c, $"{t.SuccessRate * 100:F1}%")]);
        }

        foreach (SuiteSummary s in r.Suites)
        {
            table.AddRow([s.Suite, "all", "", s.Episodes.ToString(c), s.Successes.ToString(c), r.Tasks.Where(t => t.Suite == s.Suite).Sum(t => t.Errors).ToString(c), string.Create(c, $"{s.SuccessRate * 100:F1}%")]);
        }

        output.WriteLine(string.Create(c, $"LIBERO: {r.Episodes.Count}{(r.Total > 0 ? $" of {r.Total}" : "")} episodes{(r.Resumed > 0 ? $" ({r.Resumed} from an earlier run)" : "")}{(r.Cancelled ? " (cancelled)" : "")}"));
        CliConsole.Write(output, table);
        output.WriteLine(string.Create(c, $"Per policy step ({r.Timings.PolicySteps} steps): observe {r.Timings.ObserveMs:F2} ms, model {r.Timings.ModelMs:F2} ms, env.step {r.Timings.StepMs:F2} ms"));
        output.WriteLine($"Report   {Path.Combine(r.OutputDirectory, "report.md")}");
    }

    private static double[][] ReadActions(string path)
    {
        double[][]? actions;
        try
        {
            actions = JsonSerializer.Deserialize<double[][]>(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MagmaInputException($"--actions '{Path.GetFullPath(path)}': {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new MagmaInputException($"--actions '{Path.GetFullPath(path)}': not a JSON array of 7-value arrays ({e.Message}).", e);
        }

        if (actions is not { Length: > 0 } || actions.Any(a => a is not { Length: 7 }))
        {
            throw new MagmaInputException($"--actions '{Path.GetFullPath(path)}': expected a non-empty JSON array of 7-value actions, e.g. [[0,0,0,0,0,0,-1]].");
        }

        return actions;
    }

    /// <summary>Reports on the caller's thread (the evaluator reports under its lock), in order, unlike <see cref="Progress{T}"/>.</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>What <c>magma libero-eval --json</c> prints.</summary>
internal sealed record LiberoEvalResult(
    string OutputDirectory, int Total, int Resumed, bool Cancelled, double SuccessRate,
    IReadOnlyList<SuiteSummary> Suites, IReadOnlyList<TaskSummary> Tasks, StepTimings Timings, IReadOnlyList<EpisodeResult> Episodes);
