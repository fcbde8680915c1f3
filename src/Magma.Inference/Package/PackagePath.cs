namespace Magma.Inference.Package;

/// <summary>
/// Resolves the file names a manifest gives (<c>vision.file</c>, <c>weights_files[i]</c>, ...) inside the package
/// folder. A package is input like any other: a name that is absolute or climbs out with <c>..</c> would make the
/// engine open a file the package does not hold. Symbolic links are followed: they are the folder owner's choice, not
/// the manifest's, and the Hugging Face hub cache stores every file of a download as a link into a blobs folder.
/// </summary>
internal static class PackagePath
{
    /// <summary>The full path of <paramref name="value"/> inside <paramref name="directory"/>.</summary>
    /// <param name="directory">The package folder (full path).</param>
    /// <param name="value">The name the manifest gives.</param>
    /// <param name="field">The manifest field, for the error.</param>
    /// <exception cref="MagmaPackageException">The name is absolute or leaves the folder.</exception>
    public static string Resolve(string directory, string value, string field)
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

        return full;
    }

    private static MagmaPackageException Outside(string directory, string value, string field, string why) =>
        new($"{ManifestReader.FileName}: field '{field}' is \"{value}\", which is outside the package folder '{directory}'; {why}.");

    private static bool IsInside(string root, string path)
    {
        string prefix = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, StringComparison.Ordinal);
    }
}
