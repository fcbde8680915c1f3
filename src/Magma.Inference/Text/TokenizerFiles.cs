using System.Text.Json;

namespace Magma.Inference.Text;

/// <summary>Reads the Hugging Face tokenizer files and turns every problem into a <see cref="MagmaPackageException"/>.</summary>
internal static class TokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string TokenizerConfigJson = "tokenizer_config.json";

    /// <summary>The pre-tokenizer regex the hand-written <see cref="Llama3PreTokenizer"/> implements.</summary>
    public const string Llama3Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static JsonDocument Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new MagmaPackageException(
                $"Tokenizer file '{path}' is missing. It is the {Path.GetFileName(path)} of the Hugging Face checkpoint the package was exported " +
                "from (e.g. microsoft/Magma-8B); tools/export/export_magma.py copies it into the package.");
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            // A clone without symbolic links (git core.symlinks=false) turns tests/assets/tiny-magma/tokenizer.json into a
            // text file holding the link's target: say so rather than "not JSON".
            string hint = new FileInfo(path).Length < 256 && File.ReadAllText(path).Trim() is { } text && text.EndsWith("tokenizer.json", StringComparison.Ordinal)
                ? $" It holds the path '{text}': a symbolic link checked out as a text file (git config core.symlinks true, then check the file out again), or copy that file here."
                : " Replace it with the tokenizer.json of the checkpoint the package was exported from.";
            throw new MagmaPackageException($"Tokenizer file '{path}' is not valid JSON ({ex.Message}).{hint}", ex);
        }
    }

    public static JsonElement Require(JsonElement parent, string name, JsonValueKind kind, string path, string fieldPath)
    {
        if (parent.ValueKind != JsonValueKind.Object || !parent.TryGetProperty(name, out var value) || value.ValueKind != kind)
        {
            throw Field(path, fieldPath, $"is missing or is not a JSON {kind.ToString().ToLowerInvariant()}");
        }

        return value;
    }

    public static MagmaPackageException Field(string path, string fieldPath, string problem) =>
        new($"Tokenizer file '{path}': field '{fieldPath}' {problem}.");

    /// <summary>Reads a token field that transformers writes either as a string or as an AddedToken object.</summary>
    public static string RequireTokenString(JsonElement root, string name, string path)
    {
        if (root.TryGetProperty(name, out var value))
        {
            if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s)
            {
                return s;
            }

            if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content)
                && content.ValueKind == JsonValueKind.String && content.GetString() is { Length: > 0 } c)
            {
                return c;
            }
        }

        throw Field(path, name, "is missing or is not a token string");
    }
}
