namespace Magma.Cli;

/// <summary>Process exit codes of every <c>magma</c> command (documented in docs/cli.md).</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The package is invalid or missing, an input file cannot be read, or the device cannot start.</summary>
    public const int Error = 1;

    /// <summary>The command line itself is wrong (unknown option, missing argument); the message says which.</summary>
    public const int Usage = 2;

    /// <summary>The model answered, but the answer could not be turned into the typed result (e.g. no click target).</summary>
    public const int Unparseable = 3;

    /// <summary>Cancelled with Ctrl+C (128 + SIGINT).</summary>
    public const int Cancelled = 130;
}
