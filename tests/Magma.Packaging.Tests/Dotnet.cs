using System.Diagnostics;
using System.Text;

namespace Magma.Packaging.Tests;

/// <summary>Runs the dotnet CLI (or a tool it installed) as a child process and captures its output.</summary>
internal static class Dotnet
{
    /// <summary>The dotnet host running these tests, so the child uses the same SDK.</summary>
    public static string HostPath { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static Task<ProcessResult> RunAsync(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        RunProgramAsync(HostPath, workingDirectory, timeout, arguments);

    public static async Task<ProcessResult> RunProgramAsync(string program, string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
            info.ArgumentList.Add(argument);

        // The test host runs inside `dotnet test`, whose MSBuild variables would steer the child build; drop them.
        foreach (string name in info.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) ||
                     k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(name);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";

        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (output)
                throw new TimeoutException($"'{program} {string.Join(' ', arguments)}' did not finish within {timeout}; output so far:\n{output}");
        }

        // WaitForExitAsync returns after the redirected streams are drained.
        lock (output)
            return new ProcessResult(process.ExitCode, output.ToString(), $"{Path.GetFileName(program)} {string.Join(' ', arguments)}", clock.Elapsed);
    }
}

/// <summary>Exit code and interleaved stdout/stderr of a child process.</summary>
internal sealed record ProcessResult(int ExitCode, string Output, string CommandLine, TimeSpan Elapsed)
{
    /// <summary>Throws with the whole output unless the process exited with 0.</summary>
    public ProcessResult EnsureSuccess()
    {
        if (ExitCode != 0)
            throw new InvalidOperationException($"'{CommandLine}' exited with {ExitCode}:\n{Output}");
        return this;
    }
}
