namespace Magma.Docs.Tests;

/// <summary>
/// Every C# code block in README.md, docs/*.md and the packages' READMEs compiles against the libraries. A block may opt out only with
/// <c>&lt;!-- snippet: no-compile (reason) --&gt;</c> on the line above its fence.
/// </summary>
public sealed class SnippetTests
{
    private static readonly string[] PackageReadmes =
    [
        "src/Magma.Inference/README.md",
        "src/Magma.Tasks/README.md",
        "src/Magma.SemanticKernel/README.md",
        "plugins/Magma.Plugins.Web/README.md",
        "plugins/Magma.Plugins.Robotics/README.md",
        "tools/Magma.Cli/README.md",
    ];

    private static readonly Lazy<IReadOnlyList<DocSnippet>> All = new(() =>
    {
        string root = RepositoryRoot();
        var files = new List<string> { "README.md" };
        files.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md")
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal));
        // The NuGet packages' READMEs (shown on the package page) hold examples too.
        files.AddRange(PackageReadmes.Where(f => File.Exists(Path.Combine(root, f))));
        return files.SelectMany(f => DocSnippet.Read(root, f)).ToList();
    });

    public static TheoryData<string> Snippets()
    {
        var data = new TheoryData<string>();
        foreach (DocSnippet snippet in All.Value)
            data.Add(snippet.Id);
        return data;
    }

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Snippet_compiles(string id)
    {
        DocSnippet snippet = All.Value.Single(s => s.Id == id);
        if (snippet.NoCompileReason is not null)
            return;

        IReadOnlyList<string> errors = SnippetCompiler.Errors(snippet);

        Assert.True(errors.Count == 0, $"The C# block at {id} does not compile:\n{string.Join('\n', errors)}\n\n{snippet.Code}");
    }

    [Fact]
    public void The_readme_and_every_plugin_page_have_compiled_snippets()
    {
        // README's engine and Semantic Kernel examples, and the plugin pages' set-up examples, are what a newcomer copies.
        Assert.Contains(All.Value, s => s.File == "README.md" && s.NoCompileReason is null && s.Code.Contains("AddMagmaChatCompletion", StringComparison.Ordinal));
        Assert.Contains(All.Value, s => s.File == "docs/web.md" && s.NoCompileReason is null);
        Assert.Contains(All.Value, s => s.File == "docs/robotics.md" && s.NoCompileReason is null);
        foreach (string readme in PackageReadmes.Where(r => !r.StartsWith("tools/", StringComparison.Ordinal)))
            Assert.Contains(All.Value, s => s.File == readme && s.NoCompileReason is null);
    }

    [Fact]
    public void The_compiler_reports_an_error_in_a_broken_snippet()
    {
        // Guards the test itself: a snippet calling a member that does not exist must fail.
        var broken = new DocSnippet("broken.md", 1, "using Magma.Inference;\nMagmaModel.LoadFromTheMoon(\"x\");", null);

        string error = Assert.Single(SnippetCompiler.Errors(broken));

        Assert.Contains("broken.md:3: CS0117", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_opt_out_marker_needs_a_reason_and_must_sit_right_above_the_fence()
    {
        string root = Path.Combine(Path.GetTempPath(), "magma-docs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            File.WriteAllText(Path.Combine(root, "a.md"), string.Join('\n',
                "<!-- snippet: no-compile (needs a GPU) -->", "```csharp", "x", "```",
                "<!-- snippet: no-compile () -->", "```csharp", "y", "```",
                "<!-- snippet: no-compile (too far) -->", "text", "```csharp", "z", "```",
                "```bash", "not c#", "```",
                "- item", "  ```cs", "  var a = 1;", "  ```"));

            DocSnippet[] snippets = DocSnippet.Read(root, "a.md").ToArray();

            Assert.Equal(["x", "y", "z", "var a = 1;"], snippets.Select(s => s.Code));
            Assert.Equal(["needs a GPU", null, null, null], snippets.Select(s => s.NoCompileReason));
            Assert.Equal([2, 6, 11, 18], snippets.Select(s => s.Line));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Magma.Agents.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException($"Magma.Agents.sln not found above {AppContext.BaseDirectory}.");
    }
}
