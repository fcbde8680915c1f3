using System.Globalization;

namespace Magma.Packaging.Tests;

/// <summary>
/// Packs the repository's packable projects once per test run into a local feed under a fresh temp folder, with a
/// version no cache has seen (0.1.0-test.&lt;UTC time&gt;), and removes that version from the global packages folder
/// afterwards.
/// </summary>
public sealed class LocalFeed : IAsyncLifetime
{
    /// <summary>Package ids of the libraries, in dependency order.</summary>
    public static readonly string[] LibraryIds = ["Magma.Inference", "Magma.Tasks", "Magma.SemanticKernel", "Magma.Plugins.Web", "Magma.Plugins.Robotics"];

    /// <summary>The dotnet tool's package id.</summary>
    public const string ToolId = "Magma.Cli";

    /// <summary>
    /// The platform the tool is packed for here: this machine's, of tools/Magma.Cli's ToolPackageRuntimeIdentifiers
    /// (linux-x64, win-x64). The other one is the same publish for another RID, and it cannot be installed here; packing
    /// it too would double the most expensive step of the run.
    /// </summary>
    public static readonly string[] ToolRuntimeIdentifiers = [OperatingSystem.IsWindows() ? "win-x64" : "linux-x64"];

    private static readonly string[] ProjectPaths =
    [
        "src/Magma.Inference/Magma.Inference.csproj",
        "src/Magma.Tasks/Magma.Tasks.csproj",
        "src/Magma.SemanticKernel/Magma.SemanticKernel.csproj",
        "plugins/Magma.Plugins.Web/Magma.Plugins.Web.csproj",
        "plugins/Magma.Plugins.Robotics/Magma.Plugins.Robotics.csproj",
        "tools/Magma.Cli/Magma.Cli.csproj",
    ];

    /// <summary>Generous: on a 2-core machine where the projects are not built yet, this pack compiles five of them and zips the tool's native payload.</summary>
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(12);

    public string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Temp folder holding the feed, the build artifacts and everything the tests create.</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "magma-packaging-" + Guid.NewGuid().ToString("N")[..12]);

    public string FeedDirectory => Path.Combine(Root, "feed");

    public string Version { get; } = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

    /// <summary>The tiny random-weight package copied next to the test assembly (tokenizer.json included).</summary>
    public static string TinyPackage => Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma");

    public string PackOutput { get; private set; } = "";

    /// <summary>How long the pack took (reported by the tests, for CI logs).</summary>
    public TimeSpan PackTime { get; private set; }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(FeedDirectory);
        WriteBuildBarrier(Root);

        // Packs the working tree's own Release build: the five projects are ProjectReferences of this test project, so
        // the build that runs these tests has compiled them already, and the pack finds them up to date (recompiling all
        // of them in a private artifacts folder was the slowest step of the whole test run on a 2-core machine). The
        // test version goes in as PackageVersion, which only the packages carry, and without a restore, so neither the
        // assemblies nor the restore outputs change under a solution build that may still be running; the new work
        // is the packing and the tool's per-platform publish.
        string solution = Path.Combine(Root, "pack.slnx");
        await File.WriteAllTextAsync(solution, "<Solution>\n" + string.Concat(ProjectPaths.Select(p =>
            $"  <Project Path=\"{Path.Combine(RepositoryRoot, p)}\" />\n")) + "</Solution>\n");
        ProcessResult pack = await Dotnet.RunAsync(Root, PackTimeout,
            "pack", solution, "-c", "Release", "-o", FeedDirectory, "--no-restore",
            $"-p:PackageVersion={Version}", $"-p:ToolPackageRuntimeIdentifiers={string.Join(';', ToolRuntimeIdentifiers)}",
            "--disable-build-servers", "-nodeReuse:false");
        PackOutput = pack.EnsureSuccess().Output;
        PackTime = pack.Elapsed;
    }

    public Task DisposeAsync()
    {
        TryDelete(Root);
        // Each run adds a unique version to the global packages folder; take it out again.
        string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } custom
            ? custom
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in LibraryIds.Append(ToolId).Concat(ToolRuntimeIdentifiers.Select(rid => $"{ToolId}.{rid}")))
            TryDelete(Path.Combine(packages, id.ToLowerInvariant(), Version));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Empty Directory.Build.* / Directory.Packages.props files so that nothing above a temp project (a /tmp inside
    /// some checkout) changes how it builds.
    /// </summary>
    public static void WriteBuildBarrier(string directory)
    {
        foreach (string name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            File.WriteAllText(Path.Combine(directory, name), "<Project />\n");
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; a failed cleanup must not fail the run.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Magma.Agents.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"Magma.Agents.sln not found above {AppContext.BaseDirectory}.");
    }
}

[CollectionDefinition(Name)]
public sealed class PackagingGroup : ICollectionFixture<LocalFeed>
{
    public const string Name = "Packaging (dotnet pack, local feed)";
}
