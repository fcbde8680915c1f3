namespace Magma.Plugins.Robotics.Libero;

/// <summary>A LIBERO task of a suite (<c>task_suite.get_task(i)</c>).</summary>
/// <param name="Suite">The suite name, e.g. <c>libero_goal</c>.</param>
/// <param name="TaskId">The task's index in the suite.</param>
/// <param name="Name">The task's <c>name</c>.</param>
/// <param name="Language">The task's <c>language</c>: the instruction given to the policy.</param>
/// <param name="BddlFile">The full path of the task's BDDL file (<c>get_libero_path("bddl_files")/problem_folder/bddl_file</c>).</param>
/// <param name="InitStateCount">Number of stored initial states (<c>get_task_init_states(i)</c>), i.e. the most trials.</param>
public sealed record LiberoTask(string Suite, int TaskId, string Name, string Language, string BddlFile, int InitStateCount);

/// <summary>The reference evaluation's per-suite constants (spec §6.1).</summary>
public static class LiberoProtocol
{
    /// <summary>Steps at the start of an episode that send the dummy action while objects settle.</summary>
    public const int WaitSteps = 10;

    /// <summary>Trials per task in the reference evaluation.</summary>
    public const int TrialsPerTask = 50;

    /// <summary>Camera resolution of the reference evaluation.</summary>
    public const int Resolution = 256;

    /// <summary>Seed given to <c>env.seed</c>.</summary>
    public const int Seed = 0;

    /// <summary>The suites of the LIBERO benchmark (<c>libero_100</c> is <c>libero_90</c> and <c>libero_10</c> together).</summary>
    public static IReadOnlyList<string> Suites { get; } = ["libero_spatial", "libero_object", "libero_goal", "libero_10", "libero_90", "libero_100"];

    /// <summary>
    /// Policy steps allowed per episode (after the wait steps): libero_spatial 220, libero_object 280,
    /// libero_goal 300, libero_10 520, anything else 400.
    /// </summary>
    public static int MaxSteps(string suite) => suite switch
    {
        "libero_spatial" => 220,
        "libero_object" => 280,
        "libero_goal" => 300,
        "libero_10" => 520,
        _ => 400,
    };

    /// <summary>The <c>dataset_statistics.json</c> key of a suite's fine-tuned checkpoint (<c>&lt;suite&gt;_no_noops</c>).</summary>
    public static string StatisticsKey(string suite) => suite + "_no_noops";
}
