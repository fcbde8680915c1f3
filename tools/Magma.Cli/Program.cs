using Magma.Cli;

// Ctrl+C cancels the running command (generation stops within one decode step) instead of killing the process,
// so partial output is flushed and the exit code is 130 (the shell convention for SIGINT).
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await MagmaCli.RunAsync(args, Console.Out, Console.Error, cancel.Token).ConfigureAwait(false);
