using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Magma.Docs.Tests;

/// <summary>
/// Compiles a documentation snippet the way a reader would paste it into a new console project: the SDK's implicit
/// usings, nullable on, statements as top-level statements (a fragment becomes the body of Main), referencing the
/// libraries and everything they depend on.
/// </summary>
internal static class SnippetCompiler
{
    /// <summary>What `dotnet new console` gets from ImplicitUsings.</summary>
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None);

    /// <summary>The framework plus this test's dependency context: the four Magma libraries and their packages.</summary>
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray());

    /// <summary>Error diagnostics of the snippet, formatted with the markdown file's line numbers.</summary>
    public static IReadOnlyList<string> Errors(DocSnippet snippet)
    {
        // Line 1 of the snippet is the line after the fence.
        SyntaxTree tree = CSharpSyntaxTree.ParseText(snippet.Code, ParseOptions, path: snippet.File);
        bool hasStatements = tree.GetRoot().ChildNodes().OfType<GlobalStatementSyntax>().Any();
        var options = new CSharpCompilationOptions(
                hasStatements ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                allowUnsafe: false)
            .WithSpecificDiagnosticOptions([]);
        CSharpCompilation compilation = CSharpCompilation.Create(
            "Snippet_" + snippet.Line,
            [tree, CSharpSyntaxTree.ParseText(ImplicitUsings, ParseOptions, path: "ImplicitUsings.cs")],
            References.Value,
            options);

        return compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                FileLinePositionSpan span = d.Location.GetLineSpan();
                return $"{snippet.File}:{snippet.Line + span.StartLinePosition.Line + 1}: {d.Id} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
    }
}
