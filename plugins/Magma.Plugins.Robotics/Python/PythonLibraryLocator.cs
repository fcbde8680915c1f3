using System.Globalization;
using System.Text.RegularExpressions;

namespace Magma.Plugins.Robotics.Python;

/// <summary>Finds the CPython shared library and the matching executable to embed.</summary>
internal static partial class PythonLibraryLocator
{
    internal const string LibraryVariable = "MAGMA_PYTHON_LIBRARY";
    internal const string PythonNetVariable = "PYTHONNET_PYDLL";
    internal const string ExecutableVariable = "MAGMA_PYTHON_EXECUTABLE";

    // Newest first: a machine with several system Pythons most likely has its packages in the newest.
    private static readonly string[] Versions = ["3.13", "3.12", "3.11", "3.10", "3.9", "3.8"];

    private static readonly string[] Folders =
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];

    /// <summary>Resolves the library path, or throws naming every place that was tried.</summary>
    internal static string FindLibrary(string? configured, Func<string, string?> getVariable, Func<string, bool> exists)
    {
        var tried = new List<string>();
        if (!string.IsNullOrWhiteSpace(configured))
        {
            if (exists(configured))
            {
                return configured;
            }

            throw new FileNotFoundException(
                $"PythonHostOptions.LibraryPath '{configured}' does not exist. Point it at the libpython3.x.so of the " +
                "Python environment that has LIBERO installed (e.g. <env>/lib/libpython3.10.so).", configured);
        }

        foreach (string variable in new[] { LibraryVariable, PythonNetVariable })
        {
            string? value = getVariable(variable);
            if (!string.IsNullOrWhiteSpace(value))
            {
                if (exists(value))
                {
                    return value;
                }

                tried.Add($"{variable}={value} (missing)");
            }
        }

        foreach (string version in Versions)
        {
            foreach (string folder in Folders)
            {
                foreach (string name in new[] { $"libpython{version}.so.1.0", $"libpython{version}.so" })
                {
                    string candidate = Path.Combine(folder, name);
                    if (exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
        }

        tried.Add($"libpython3.{{8..13}}.so[.1.0] in {string.Join(", ", Folders)}");
        throw new FileNotFoundException(
            "No CPython shared library found. Tried: " + string.Join("; ", tried) + ". Install one (Debian: " +
            "'apt-get install libpython3.11'), or set PythonHostOptions.LibraryPath or the " + LibraryVariable +
            " environment variable to the libpython3.x.so of your LIBERO environment.");
    }

    /// <summary>
    /// The executable that tells CPython where its prefix is: the configured one, else the <c>python3.x</c> in the
    /// <c>bin</c> folder of the library's prefix (<c>/usr/lib/x86_64-linux-gnu/libpython3.11.so</c> → <c>/usr/bin/python3.11</c>).
    /// </summary>
    internal static string? FindExecutable(string? configured, string libraryPath, Func<string, string?> getVariable, Func<string, bool> exists)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return exists(configured)
                ? configured
                : throw new FileNotFoundException($"PythonHostOptions.PythonExecutable '{configured}' does not exist; point it at the environment's bin/python.", configured);
        }

        string? fromVariable = getVariable(ExecutableVariable);
        if (!string.IsNullOrWhiteSpace(fromVariable) && exists(fromVariable))
        {
            return fromVariable;
        }

        Match m = VersionPattern().Match(Path.GetFileName(libraryPath));
        string version = m.Success ? m.Groups[1].Value : "3";
        // Walk up from the library folder: <prefix>/lib[/<triplet>]/libpython → <prefix>/bin/python3.x.
        string? dir = Path.GetDirectoryName(libraryPath);
        for (int up = 0; up < 3 && dir is not null; up++)
        {
            foreach (string name in new[] { $"python{version}", "python3", "python" })
            {
                string candidate = Path.Combine(dir, "bin", name);
                if (exists(candidate))
                {
                    return candidate;
                }
            }

            dir = Path.GetDirectoryName(dir);
        }

        return null;
    }

    internal static string VersionOf(string libraryPath)
    {
        Match m = VersionPattern().Match(Path.GetFileName(libraryPath));
        return m.Success ? m.Groups[1].Value : string.Create(CultureInfo.InvariantCulture, $"unknown");
    }

    [GeneratedRegex(@"libpython(\d+\.\d+)")]
    private static partial Regex VersionPattern();
}
