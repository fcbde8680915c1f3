using Magma.Inference.Text;

namespace Magma.Inference.Tests.Text;

/// <summary>Loads the committed LLaMA-3 + Magma tokenizer once per test run (the 9 MB JSON takes a few hundred ms).</summary>
internal static class TokenizerFixture
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "assets", "tokenizer");

    private static readonly Lazy<MagmaTokenizer> Shared = new(() => MagmaTokenizer.Load(Directory));

    public static MagmaTokenizer Tokenizer => Shared.Value;

    /// <summary>Every added token of the vocabulary (LLaMA-3's 256 and Magma's 7), in id order, read from tokenizer.json.</summary>
    public static IReadOnlyList<(string Content, int Id)> AddedTokens => Added.Value;

    private static readonly Lazy<(string, int)[]> Added = new(() =>
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "tokenizer.json")));
        return [.. doc.RootElement.GetProperty("added_tokens").EnumerateArray()
            .Select(t => (t.GetProperty("content").GetString()!, t.GetProperty("id").GetInt32()))
            .OrderBy(t => t.Item2)];
    });

    /// <summary>Whether <paramref name="text"/> contains the text of an added token (where the two encodings differ).</summary>
    public static bool HasAddedTokenText(string text) => AddedTokens.Any(t => text.Contains(t.Content, StringComparison.Ordinal));
}
