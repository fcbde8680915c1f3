using Magma.Inference;

namespace Magma.Cli;

/// <summary>
/// Turns the engine's expected failures into one stderr line and an exit code; anything else is a bug and keeps
/// its stack trace.
/// </summary>
internal static class CliErrors
{
    /// <summary>Runs <paramref name="body"/> and maps package/input/device/cancel failures to exit codes.</summary>
    public static async Task<int> GuardAsync(TextWriter error, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
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
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("magma: cancelled.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }

        return ExitCodes.Error;
    }
}
