namespace Magma.Demo;

/// <summary>Finds repository assets (the tokenizer files) from wherever the demo is started inside the clone.</summary>
internal static class DemoAssets
{
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, relativePath);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException(
            $"'{relativePath}' was not found above {AppContext.BaseDirectory}; run the demo from a clone of the repository.");
    }
}
