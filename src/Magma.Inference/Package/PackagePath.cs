namespace Magma.Inference.Package;

/// <summary>
/// Resolves the file names a manifest gives (<c>vision.file</c>, <c>weights_files[i]</c>, ...) inside the package
/// folder. A package is input like any other: a name that is absolute, climbs out with <c>..</c>, or is a symbolic
/// link whose target lies outside the folder would make the engine open a file the package does not hold.
/// </summary>
internal static class PackagePath
{
    /// <summary>The full path of <paramref name="value"/> inside <paramref name="directory"/>.</summary>
    /// <param name="directory">The package folder (full path).</param>
    /// <param name="value">The name the manifest gives.</param>
    /// <param name="field">The manifest field, for the error; null for a file the format names (config.json, ...).</param>
    /// <exception cref="MagmaPackageException">The name leaves the folder (directly or through a link).</exception>
    public static string Resolve(string directory, string value, string? field)
    {
        if (Path.IsPathRooted(value) || value.Contains('\\', StringComparison.Ordinal)
            || value.Split('/').Any(segment => segment is ".."))
        {
            throw Outside(directory, value, field, "it must be a path relative to magma.json without '..'");
        }

        string full = Path.GetFullPath(Path.Combine(directory, value));
        if (!IsInside(directory, full))
        {
            throw Outside(directory, value, field, "it must be a path relative to magma.json without '..'");
        }

        // Links: the file and every folder between it and the package must resolve inside the package's real folder.
        string realRoot = RealPath(directory);
        string real = RealPath(full);
        if (!IsInside(realRoot, real))
        {
            throw Outside(directory, value, field, $"it is a symbolic link (or inside one) to '{real}'. Copy the file into the package (cp -L) instead of linking it");
        }

        return full;
    }

    private static MagmaPackageException Outside(string directory, string value, string? field, string why) =>
        new($"{(field is null ? value + ":" : $"{ManifestReader.FileName}: field '{field}' is \"{value}\",")} which is outside the package folder '{directory}'; {why}.");

    private static bool IsInside(string root, string path)
    {
        string prefix = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, StringComparison.Ordinal);
    }

    /// <summary>The path with every symbolic link along it replaced by its final target (parts that do not exist stay as they are).</summary>
    internal static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full) ?? "/";
        string current = root;
        foreach (string part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.Exists && info.LinkTarget is not null)
            {
                FileSystemInfo? target = info.ResolveLinkTarget(returnFinalTarget: true);
                if (target is not null)
                {
                    // A target may itself sit under linked folders.
                    current = target.FullName == current ? current : RealPath(target.FullName);
                }
            }
        }

        return current;
    }
}
