using Magma.Cli;

namespace Magma.Cli.Tests;

/// <summary>Runs the tool in-process with captured stdout/stderr.</summary>
internal static class Cli
{
    public static string TinyModel => Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma");

    /// <summary>The tiny package in the repository itself (tests/assets/tiny-magma), not the build's copy.</summary>
    public static string RepositoryTinyModel
    {
        get
        {
            for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Magma.Agents.sln")))
                {
                    return Path.Combine(dir.FullName, "tests", "assets", "tiny-magma");
                }
            }

            throw new InvalidOperationException($"No Magma.Agents.sln above {AppContext.BaseDirectory}.");
        }
    }

    public static string Photo => Path.Combine(AppContext.BaseDirectory, "assets", "photo.jpg");

    public static async Task<CliRun> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await MagmaCli.RunAsync(args, output, error, cancellationToken);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    public static string WebPages => Path.Combine(AppContext.BaseDirectory, "assets", "web");

    /// <summary>
    /// Runs the tool and presses "Ctrl+C" (cancels its token) as soon as a progress line on stderr contains
    /// <paramref name="marker"/>: the way a user stops a long run after some work has finished.
    /// </summary>
    public static async Task<CliRun> RunAndCancelOnAsync(string marker, params string[] args)
    {
        using var cancel = new CancellationTokenSource();
        using var output = new StringWriter();
        using var error = new CancellingWriter(marker, cancel);
        int code = await MagmaCli.RunAsync(args, output, error, cancel.Token);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>A fresh empty temporary folder.</summary>
    public static string TempFolder(string prefix)
    {
        string dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private sealed class CancellingWriter(string marker, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(marker, StringComparison.Ordinal) == true)
            {
                cancel.Cancel();
            }
        }
    }

    /// <summary>A fresh copy of the tiny package the test may break.</summary>
    public static string CopyTinyModel()
    {
        string dir = Path.Combine(Path.GetTempPath(), "magma-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        foreach (string f in Directory.EnumerateFiles(TinyModel))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }

        return dir;
    }
}

internal sealed record CliRun(int ExitCode, string Out, string Err);
