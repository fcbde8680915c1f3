using System.IO.Compression;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace Magma.Packaging.Tests;

/// <summary>
/// What a user gets from `dotnet pack`: package metadata, and packages that restore from a local feed into a fresh
/// application and run; the magma tool installs from the same feed and runs.
/// </summary>
[Collection(PackagingGroup.Name)]
public sealed class PackagingTests(LocalFeed feed, ITestOutputHelper log)
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void Every_package_has_id_version_metadata_readme_license_and_symbols()
    {
        foreach (string id in LocalFeed.LibraryIds.Append(LocalFeed.ToolId))
        {
            string nupkg = Path.Combine(feed.FeedDirectory, $"{id}.{feed.Version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{nupkg} was not produced. Pack output:\n{feed.PackOutput}");
            using ZipArchive zip = ZipFile.OpenRead(nupkg);
            XElement metadata = ReadMetadata(zip, id);
            string Field(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

            Assert.Equal(id, Field("id"));
            Assert.Equal(feed.Version, Field("version"));
            Assert.Equal("Magma.Agents", Field("authors"));
            Assert.Equal("MIT", Field("license"));
            Assert.True(Field("description").Length > 40, $"{id}: description '{Field("description")}' is too short");
            Assert.Contains("magma", Field("tags"), StringComparison.Ordinal);
            Assert.Equal("README.md", Field("readme"));
            XElement repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.StartsWith("https://github.com/", (string?)repository.Attribute("url"), StringComparison.Ordinal);
            Assert.Equal(40, ((string?)repository.Attribute("commit"))?.Length ?? 0);

            string readme = ReadEntry(zip, "README.md");
            Assert.Contains($"# {id}", readme, StringComparison.Ordinal);
            Assert.Contains("MIT License", ReadEntry(zip, "LICENSE"), StringComparison.Ordinal);
        }

        foreach (string id in LocalFeed.LibraryIds)
        {
            using ZipArchive library = ZipFile.OpenRead(Path.Combine(feed.FeedDirectory, $"{id}.{feed.Version}.nupkg"));
            Assert.Contains(library.Entries, e => e.FullName == $"lib/net10.0/{id}.dll");
            Assert.Contains(library.Entries, e => e.FullName == $"lib/net10.0/{id}.xml");

            string snupkg = Path.Combine(feed.FeedDirectory, $"{id}.{feed.Version}.snupkg");
            Assert.True(File.Exists(snupkg), $"{snupkg} (symbols) was not produced");
            using ZipArchive symbols = ZipFile.OpenRead(snupkg);
            Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{id}.pdb");
        }

        // The bundled font is embedded in the assembly; its license must travel with it.
        using ZipArchive tasks = ZipFile.OpenRead(Path.Combine(feed.FeedDirectory, $"Magma.Tasks.{feed.Version}.nupkg"));
        Assert.Contains("SIL Open Font License", ReadEntry(tasks, "LICENSE-LiberationSans.txt"), StringComparison.Ordinal);

        // The tool: a small Magma.Cli package that names one package per platform, which holds the tool itself.
        using ZipArchive tool = ZipFile.OpenRead(Path.Combine(feed.FeedDirectory, $"{LocalFeed.ToolId}.{feed.Version}.nupkg"));
        XElement toolMetadata = ReadMetadata(tool, LocalFeed.ToolId);
        Assert.Contains(toolMetadata.Descendants(), e => e.Name.LocalName == "packageType" && (string?)e.Attribute("name") == "DotnetTool");
        string settings = ReadEntry(tool, tool.Entries.Single(e => e.Name == "DotnetToolSettings.xml").FullName);
        foreach (string rid in LocalFeed.ToolRuntimeIdentifiers)
        {
            Assert.Contains($"{LocalFeed.ToolId}.{rid}", settings, StringComparison.Ordinal);
            using ZipArchive platform = ZipFile.OpenRead(Path.Combine(feed.FeedDirectory, $"{LocalFeed.ToolId}.{rid}.{feed.Version}.nupkg"));
            Assert.Contains(platform.Entries, e => e.FullName.EndsWith("/magma.dll", StringComparison.Ordinal));
            // Lean: no native pdbs, no CUDA/TensorRT provider (Magma.Cli.Cuda has them), no other platform's libraries.
            Assert.DoesNotContain(platform.Entries, e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal) && !e.Name.StartsWith("Magma", StringComparison.Ordinal) && e.Name != "magma.pdb");
            Assert.DoesNotContain(platform.Entries, e => e.Name.Contains("providers_cuda", StringComparison.Ordinal) || e.Name.Contains("providers_tensorrt", StringComparison.Ordinal));
            Assert.DoesNotContain(platform.Entries, e => e.FullName.Contains("/runtimes/", StringComparison.Ordinal) && !e.FullName.Contains($"/runtimes/{rid}/", StringComparison.Ordinal));
            Assert.DoesNotContain(platform.Entries, e => !rid.StartsWith("win", StringComparison.Ordinal) && e.Name.StartsWith("onnxruntime", StringComparison.Ordinal) && e.Name.EndsWith(".dll", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_fresh_application_restores_the_packages_from_the_local_feed_and_runs_the_tiny_model()
    {
        string app = Path.Combine(feed.Root, "consumer");
        Directory.CreateDirectory(app);
        LocalFeed.WriteBuildBarrier(app);
        WriteNuGetConfig(app);
        string template = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "consumer", "Consumer.csproj.template"));
        await File.WriteAllTextAsync(Path.Combine(app, "Consumer.csproj"), template.Replace("$VERSION$", feed.Version, StringComparison.Ordinal));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "consumer", "Program.cs"), Path.Combine(app, "Program.cs"));

        ProcessResult build = (await Dotnet.RunAsync(app, BuildTimeout, "build", "-c", "Release", "--disable-build-servers", "-nodeReuse:false")).EnsureSuccess();
        string dll = Path.Combine(app, "bin", "Release", "net10.0", "Consumer.dll");
        ProcessResult run = await Dotnet.RunAsync(app, RunTimeout, dll, LocalFeed.TinyPackage);
        log.WriteLine($"pack {feed.PackTime.TotalSeconds:0} s (once), restore + build {build.Elapsed.TotalSeconds:0} s, run {run.Elapsed.TotalSeconds:0} s\n{run.Output}");

        Assert.True(run.ExitCode == 0, $"consumer exited with {run.ExitCode}:\n{run.Output}");
        string[] lines = run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string tokens = Assert.Single(lines, l => l.StartsWith("engine tokens: ", StringComparison.Ordinal));
        int[] ids = tokens["engine tokens: ".Length..].Split(' ').Select(int.Parse).ToArray();
        Assert.InRange(ids.Length, 1, 4);
        Assert.All(ids, id => Assert.InRange(id, 0, 128262));
        Assert.Contains("set-of-mark: 1 mark, True", lines);
        Assert.Contains(lines, l => l.StartsWith("chat client: magma-onnx finish=", StringComparison.Ordinal));
        Assert.Contains("web: MagmaWebPolicy OriginPolicy 1", lines);
        Assert.Contains("robotics: RoboticsPlugin /nonexistent/libpython3.11.so", lines);
        string resources = Assert.Single(lines, l => l.StartsWith("resources: ", StringComparison.Ordinal));
        Assert.Contains("Magma.Tasks.Marks.Fonts.LiberationSans-Regular.ttf", resources, StringComparison.Ordinal);
        Assert.Contains("Magma.Plugins.Web.marker.js", resources, StringComparison.Ordinal);
        Assert.Contains("Magma.Plugins.Robotics.LiberoBridge.py", resources, StringComparison.Ordinal);
        Assert.Equal("consumer ok", lines[^1]);
    }

    [Fact]
    public async Task The_magma_tool_installs_from_the_local_feed_and_runs_help_and_inspect()
    {
        string work = Path.Combine(feed.Root, "tool-install");
        string toolPath = Path.Combine(work, "tools");
        Directory.CreateDirectory(work);
        WriteNuGetConfig(work);

        ProcessResult install = (await Dotnet.RunAsync(work, BuildTimeout, "tool", "install", LocalFeed.ToolId, "--version", feed.Version, "--tool-path", toolPath))
            .EnsureSuccess();
        log.WriteLine($"pack {feed.PackTime.TotalSeconds:0} s (once), tool install {install.Elapsed.TotalSeconds:0} s");
        string magma = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "magma.exe" : "magma");
        Assert.True(File.Exists(magma), $"{magma} was not installed");

        ProcessResult help = await Dotnet.RunProgramAsync(magma, work, RunTimeout, "--help");
        Assert.True(help.ExitCode == 0, $"magma --help exited with {help.ExitCode}:\n{help.Output}");
        Assert.Contains("inspect", help.Output, StringComparison.Ordinal);
        Assert.Contains("chat", help.Output, StringComparison.Ordinal);

        ProcessResult inspect = await Dotnet.RunProgramAsync(magma, work, RunTimeout, "inspect", LocalFeed.TinyPackage);
        Assert.True(inspect.ExitCode == 0, $"magma inspect exited with {inspect.ExitCode}:\n{inspect.Output}");
        Assert.Contains("magma-agents/tiny-magma-random", inspect.Output, StringComparison.Ordinal);
        Assert.Contains("decoder.onnx", inspect.Output, StringComparison.Ordinal);

        // The CPU build says how to get CUDA instead of failing on a missing provider library.
        ProcessResult cuda = await Dotnet.RunProgramAsync(magma, work, RunTimeout, "chat", "-m", LocalFeed.TinyPackage, "--cuda", "hi");
        Assert.Equal(1, cuda.ExitCode);
        Assert.Contains("Magma.Cli.Cuda", cuda.Output, StringComparison.Ordinal);

        // What the README promises: the installed CPU tool stays under 400 MB on Linux.
        long installed = new DirectoryInfo(toolPath).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        log.WriteLine($"installed tool: {installed / 1048576.0:0} MiB");
        if (OperatingSystem.IsLinux())
        {
            Assert.InRange(installed, 1, 400L * 1024 * 1024);
        }
    }

    /// <summary>
    /// The local feed on top of the machine's own sources (the user-level NuGet.Config is still read), so everything
    /// else restores the way the repository does.
    /// </summary>
    private void WriteNuGetConfig(string directory) =>
        File.WriteAllText(Path.Combine(directory, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="magma-local-feed" value="{feed.FeedDirectory}" />
              </packageSources>
            </configuration>
            """);

    private static XElement ReadMetadata(ZipArchive zip, string id) =>
        XDocument.Parse(ReadEntry(zip, $"{id}.nuspec")).Root!.Elements().Single(e => e.Name.LocalName == "metadata");

    private static string ReadEntry(ZipArchive zip, string name)
    {
        ZipArchiveEntry entry = zip.GetEntry(name) ?? throw new InvalidDataException($"{name} is not in the package");
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }
}
