using Magma.Inference;

namespace Magma.Cli;

/// <summary>
/// Turns the engine's expected failures into one stderr line and an exit code; anything else is a bug and keeps
/// its stack trace.
/// </summary>
internal static class CliErrors
{
    /// <summary>Runs <paramref name="body"/> and maps package/input/device/cancel failures to exit codes.</summary>
    /// <param name="error">Where the one-line message goes.</param>
    /// <param name="body">The command.</param>
    /// <param name="cancellationToken">
    /// The command's token: once it is cancelled, any failure counts as the cancellation. Ctrl+C in a terminal
    /// signals the whole process group, so child processes (Playwright's driver, Chromium) die with it and the
    /// command sees their exit as an error instead of an <see cref="OperationCanceledException"/>. Nullable rather
    /// than an optional <see cref="CancellationToken"/>, so a command that does not pass its token yet is not a CA2016
    /// error.
    /// </param>
    public static async Task<int> GuardAsync(TextWriter error, Func<Task<int>> body, CancellationToken? cancellationToken = null)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (IsInterrupt(e, cancellationToken ?? CancellationToken.None))
        {
            await error.WriteLineAsync("magma: cancelled.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (MagmaPackageException e)
        {
            await error.WriteLineAsync($"magma: invalid model package: {e.Message}").ConfigureAwait(false);
        }
        catch (MagmaInputException e)
        {
            await error.WriteLineAsync($"magma: {e.Message}").ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            // MagmaModel.Load throws this when CUDA was requested and cannot start.
            await error.WriteLineAsync($"magma: {e.Message}").ConfigureAwait(false);
        }

        return ExitCodes.Error;
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is the cancellation: an <see cref="OperationCanceledException"/>, any
    /// failure after the token was cancelled, or a browser that died because Ctrl+C reached it first. A terminal sends
    /// SIGINT to the whole process group, so Playwright's driver and Chromium may exit (and the call fail) a moment
    /// before .NET raises Console.CancelKeyPress; a short wait on that path tells the two cases apart.
    /// </summary>
    public static bool IsInterrupt(Exception exception, CancellationToken cancellationToken) =>
        exception is OperationCanceledException
        || cancellationToken.IsCancellationRequested
        || (exception is Microsoft.Playwright.PlaywrightException && cancellationToken.CanBeCanceled && cancellationToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(1)));
}
