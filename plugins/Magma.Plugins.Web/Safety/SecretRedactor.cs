using System.Net;
using System.Text.Json;

namespace Magma.Plugins.Web.Safety;

/// <summary>
/// Replaces each configured secret's value — as typed, percent-encoded (URL), form-encoded (<c>+</c> for spaces),
/// JSON-escaped and HTML-escaped — by its placeholder <c>{{secret:NAME}}</c>. Every string the web plugin hands out
/// (effect reports, observations, mark names and values, URLs, errors, traces) passes through <see cref="Redact"/>,
/// so a secret is hidden by its value wherever the page puts it, not by the field it was typed into.
/// </summary>
internal sealed class SecretRedactor
{
    /// <summary>The shortest secret accepted: shorter values would redact ordinary text everywhere.</summary>
    internal const int MinLength = 4;

    private readonly (string Variant, string Placeholder, string Name)[] _variants;

    /// <exception cref="ArgumentException">A secret's name is not <c>[A-Za-z0-9_.-]+</c> or its value is shorter than 4 characters.</exception>
    public SecretRedactor(IReadOnlyDictionary<string, string> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var variants = new List<(string, string, string)>();
        foreach ((string name, string value) in secrets)
        {
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                throw new ArgumentException($"WebSessionOptions.Secrets: name \"{name}\" must be letters, digits, '_', '.' or '-' (it is typed as {{{{secret:NAME}}}}).", nameof(secrets));
            }

            if (value is null || value.Length < MinLength)
            {
                throw new ArgumentException(
                    $"WebSessionOptions.Secrets[\"{name}\"] is shorter than {MinLength} characters; such a value cannot be redacted by value without hiding ordinary text. Use the real credential.",
                    nameof(secrets));
            }

            string placeholder = "{{secret:" + name + "}}";
            foreach (string v in Encodings(value).Distinct(StringComparer.Ordinal))
            {
                variants.Add((v, placeholder, name));
            }
        }

        // Longest first, so that an encoded form is replaced whole before a shorter variant inside it.
        _variants = [.. variants.OrderByDescending(v => v.Item1.Length)];
    }

    /// <summary>Whether any secret is configured.</summary>
    public bool Any => _variants.Length > 0;

    /// <summary>The text with every secret value (in any of its encodings) replaced by its placeholder.</summary>
    public string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text) || _variants.Length == 0)
        {
            return text ?? "";
        }

        foreach ((string variant, string placeholder, _) in _variants)
        {
            text = text.Replace(variant, placeholder, StringComparison.OrdinalIgnoreCase);
        }

        return text;
    }

    /// <summary>
    /// The name of the first secret whose value (in any encoding) occurs in <paramref name="text"/>, or null. Text that
    /// holds percent escapes is also searched decoded, so a mix of escaped and literal characters is found too.
    /// </summary>
    public string? Find(string? text)
    {
        // Every request's URL, headers and body pass through here: without secrets there is nothing to decode for.
        if (!Any || string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (text.Contains('%', StringComparison.Ordinal) || text.Contains('+', StringComparison.Ordinal))
        {
            string? decoded = null;
            try
            {
                decoded = Uri.UnescapeDataString(text);
            }
            catch (UriFormatException)
            {
                // Not decodable as a whole; the encoded variants below still apply.
            }

            if (decoded is not null && decoded != text && FindPlain(decoded) is { } inDecoded)
            {
                return inDecoded;
            }

            if (decoded is not null && FindPlain(decoded.Replace('+', ' ')) is { } inForm)
            {
                return inForm;
            }
        }

        return FindPlain(text);
    }

    private string? FindPlain(string text)
    {
        foreach ((string variant, _, string name) in _variants)
        {
            if (text.Contains(variant, StringComparison.OrdinalIgnoreCase))
            {
                return name;
            }
        }

        return null;
    }

    private static string Percent(string value, Func<char, bool> keep, bool spaceAsPlus)
    {
        var s = new System.Text.StringBuilder();
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(value))
        {
            char c = (char)b;
            if (b < 0x80 && keep(c))
            {
                s.Append(c);
            }
            else if (spaceAsPlus && c == ' ')
            {
                s.Append('+');
            }
            else
            {
                s.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return s.ToString();
    }

    private static IEnumerable<string> Encodings(string value)
    {
        yield return value;
        string escaped = Uri.EscapeDataString(value);
        yield return escaped;
        yield return WebUtility.UrlEncode(value);                 // form encoding: spaces as '+'
        yield return escaped.Replace("%20", "+", StringComparison.Ordinal);
        yield return WebUtility.HtmlEncode(value);
        // What browsers write (WHATWG URL): the query set (C0, space, " # < > ' and non-ASCII), the path set (also ? ` { }),
        // and application/x-www-form-urlencoded (all but alphanumerics and * - . _, space as '+').
        yield return Percent(value, c => c > ' ' && c < 0x7F && !"\"#<>'".Contains(c, StringComparison.Ordinal), spaceAsPlus: false);
        yield return Percent(value, c => c > ' ' && c < 0x7F && !"\"#<>'?`{}".Contains(c, StringComparison.Ordinal), spaceAsPlus: false);
        yield return Percent(value, c => char.IsAsciiLetterOrDigit(c) || c is '*' or '-' or '.' or '_', spaceAsPlus: true);
        yield return JsonEncodedText.Encode(value).ToString();      // \u0022-style escapes in JSON bodies
        yield return JsonSerializer.Serialize(value)[1..^1];       // the same, as JavaScript's JSON.stringify writes most
    }
}
