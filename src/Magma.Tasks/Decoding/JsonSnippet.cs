using System.Text.Json;

namespace Magma.Tasks.Decoding;

/// <summary>
/// Finds the first balanced JSON object in free text (models often wrap their JSON in prose or code fences)
/// and parses it with bounded depth. One forward pass; string literals and escapes are honoured so braces
/// inside strings do not count.
/// </summary>
public static class JsonSnippet
{
    /// <summary>The deepest nesting accepted: answers are short; deeper JSON is not an answer.</summary>
    public const int MaxDepth = 8;

    /// <summary>Returns the parsed document, or null with a reason. The caller disposes the document.</summary>
    /// <param name="text">A model's answer, JSON possibly wrapped in prose or code fences.</param>
    /// <param name="reason">Why no object was parsed; null on success.</param>
    public static JsonDocument? TryParseFirstObject(string text, out string? reason)
    {
        int start = text.IndexOf('{', StringComparison.Ordinal);
        if (start < 0)
        {
            reason = "no JSON object ('{') in the answer";
            return null;
        }

        int depth = 0;
        bool inString = false;
        bool escaped = false;
        int end = -1;
        for (int i = start; i < text.Length && end < 0; i++)
        {
            char c = text[i];
            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (c == '\\')
                {
                    escaped = true;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '{':
                case '[':
                    if (++depth > MaxDepth)
                    {
                        reason = $"JSON nested deeper than {MaxDepth} levels";
                        return null;
                    }

                    break;
                case '}':
                case ']':
                    // Mismatched bracket kinds are left to the JSON parser; here only the extent matters.
                    if (--depth == 0)
                    {
                        end = i;
                    }

                    break;
            }
        }

        if (end < 0)
        {
            reason = $"the JSON object starting at offset {start} is not closed";
            return null;
        }

        try
        {
            reason = null;
            return JsonDocument.Parse(
                text.AsMemory(start, end - start + 1),
                new JsonDocumentOptions { MaxDepth = MaxDepth, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException ex)
        {
            reason = $"invalid JSON: {ex.Message}";
            return null;
        }
    }

    /// <summary>Case-insensitive property lookup: models are not consistent about key case.</summary>
    internal static bool TryGetProperty(JsonElement obj, string name, out JsonElement value)
    {
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = p.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>A mark: a non-negative JSON integer, or a string of ASCII digits.</summary>
    internal static bool TryGetMark(JsonElement value, out int mark, out string? reason)
    {
        mark = -1;
        reason = null;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt32(out mark) && mark >= 0)
            {
                return true;
            }

            reason = $"mark {value.GetRawText()} is not a non-negative integer";
            return false;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            string s = value.GetString() ?? string.Empty;
            if (TextScan.TryReadNonNegativeInt(s, 0, out mark, out int end, out bool overflow) && end == s.Length && !overflow)
            {
                return true;
            }

            reason = $"mark \"{Shorten(s)}\" is not a non-negative integer";
            return false;
        }

        reason = $"mark must be a number, found {value.ValueKind}";
        return false;
    }

    internal static string Shorten(string s) => s.Length <= 40 ? s : string.Concat(s.AsSpan(0, 40), "…");
}
