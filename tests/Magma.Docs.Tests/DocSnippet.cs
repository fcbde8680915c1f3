using System.Text.RegularExpressions;

namespace Magma.Docs.Tests;

/// <summary>A ```csharp block of a markdown file, with where it starts and whether it opted out of compiling.</summary>
internal sealed partial record DocSnippet(string File, int Line, string Code, string? NoCompileReason)
{
    /// <summary>Fence info strings that mean C#.</summary>
    private static readonly HashSet<string> CSharpFences = new(StringComparer.OrdinalIgnoreCase) { "csharp", "cs", "c#" };

    /// <summary>The opt-out marker, on the last non-blank line above the fence; the reason is required.</summary>
    [GeneratedRegex(@"^\s*<!--\s*snippet:\s*no-compile\s*\((?<reason>[^)]+)\)\s*-->\s*$")]
    private static partial Regex NoCompileMarker();

    [GeneratedRegex(@"^\s*(?<fence>`{3,}|~{3,})\s*(?<info>[^\s`]*)")]
    private static partial Regex Fence();

    public string Id => $"{File}:{Line}";

    /// <summary>The C# blocks of one markdown file (path relative to <paramref name="root"/> for messages).</summary>
    public static IEnumerable<DocSnippet> Read(string root, string relativePath)
    {
        string[] lines = System.IO.File.ReadAllLines(Path.Combine(root, relativePath));
        for (int i = 0; i < lines.Length; i++)
        {
            Match open = Fence().Match(lines[i]);
            if (!open.Success)
                continue;
            string fence = open.Groups["fence"].Value;
            int start = i;
            int end = i + 1;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith(fence, StringComparison.Ordinal))
                end++;
            i = end;
            if (!CSharpFences.Contains(open.Groups["info"].Value))
                continue;

            // Indented fences (inside list items) carry their indentation on every line.
            int indent = lines[start].Length - lines[start].TrimStart().Length;
            string code = string.Join('\n', lines[(start + 1)..Math.Min(end, lines.Length)]
                .Select(l => l.Length >= indent && string.IsNullOrWhiteSpace(l[..indent]) ? l[indent..] : l.TrimStart()));
            string? above = lines[..start].LastOrDefault(l => !string.IsNullOrWhiteSpace(l));
            Match marker = above is null ? Match.Empty : NoCompileMarker().Match(above);
            yield return new DocSnippet(relativePath, start + 1, code, marker.Success ? marker.Groups["reason"].Value.Trim() : null);
        }
    }
}
