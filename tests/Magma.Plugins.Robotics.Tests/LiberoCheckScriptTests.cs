using System.Diagnostics;

namespace Magma.Plugins.Robotics.Tests;

/// <summary>
/// tools/libero-check/check_libero_api.py (the one-command check of a real LIBERO install) run with the system
/// Python against the fake LIBERO: it makes the plugin's calls, prints what came back and fails on a broken assumption.
/// </summary>
public sealed class LiberoCheckScriptTests
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "libero-check", "check_libero_api.py");

    private static (int ExitCode, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Script);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PYTHONPATH"] = Path.Combine(AppContext.BaseDirectory, "fake_libero");
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.GetAwaiter().GetResult());
    }

    [Fact]
    public void Makes_the_plugins_calls_and_reports_shapes_dtypes_bounds_and_ten_steps()
    {
        (int code, string output) = Run();
        Assert.True(code == 0, output);
        Assert.Contains("get_benchmark_dict(): libero_spatial, libero_object, libero_goal, libero_10, libero_90, libero_100", output, StringComparison.Ordinal);
        Assert.Contains("get_task(0): name='OPEN_THE_MIDDLE_DRAWER_OF_THE_CABINET' language='open the middle drawer of the cabinet'", output, StringComparison.Ordinal);
        Assert.Contains("OffScreenRenderEnv(bddl_file_name=..., camera_heights=256, camera_widths=256)", output, StringComparison.Ordinal);
        Assert.Contains("env.seed(0)", output, StringComparison.Ordinal);
        Assert.Contains("env.env.action_spec: low=[-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0] high=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]", output, StringComparison.Ordinal);
        Assert.Contains("  agentview_image: ndarray uint8 (256, 256, 3)", output, StringComparison.Ordinal);
        Assert.Contains("  robot0_eef_quat: float64 (4,)", output, StringComparison.Ordinal);
        Assert.Contains("step 10: reward=0.0 done=False", output, StringComparison.Ordinal);
        Assert.DoesNotContain("step 11:", output, StringComparison.Ordinal);
        Assert.Contains("env.check_success(): False", output, StringComparison.Ordinal);
        Assert.EndsWith("env.close()\nOK\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Takes_suite_task_and_steps_and_fails_with_a_named_reason()
    {
        (int code, string output) = Run("--suite", "libero_object", "--task", "2", "--steps", "3");
        Assert.True(code == 0, output);
        Assert.Contains("get_task(2): name='PICK_UP_THE_SALAD_DRESSING_AND_PLACE_IT_IN_THE_BASKET'", output, StringComparison.Ordinal);
        Assert.Contains("step 3:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("step 4:", output, StringComparison.Ordinal);

        (code, output) = Run("--suite", "libero_101");
        Assert.Equal(1, code);
        Assert.Contains("FAIL: suite 'libero_101' not in get_benchmark_dict()", output, StringComparison.Ordinal);
    }
}
