using System.CommandLine;

namespace Magma.Cli;

/// <summary>Validators shared by the commands' options.</summary>
internal static class CliOptions
{
    /// <summary>Rejects values below 1 with a usage error naming the option.</summary>
    public static void AtLeastOne(Option<int> option) => option.Validators.Add(r =>
    {
        if (r.GetValueOrDefault<int>() < 1)
        {
            r.AddError($"{option.Name} must be at least 1.");
        }
    });
}
