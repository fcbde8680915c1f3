using System.Globalization;
using Magma.Plugins.Web.Browser;

namespace Magma.Cli.Commands;

/// <summary>
/// The page <c>--url</c> names and the browser session it needs. An http(s) URL allows its own origin (plus
/// <c>--allow-origin</c>) and nothing else; a local .html file is served, with its folder, under a fake origin by the
/// session's routing, because the web plugin never lets a page load <c>file:</c> URLs.
/// </summary>
internal sealed record WebPageTarget(string Url, WebSessionOptions SessionOptions)
{
    /// <summary>The fake origin a local file's folder is served under (<c>.test</c> is reserved, so never a real site).</summary>
    public const string LocalOrigin = "http://local-file.test";

    /// <summary>The viewport when <c>--viewport</c> is not given (the web plugin's default).</summary>
    public const string DefaultViewport = "1280x800";

    /// <summary>Returns a usage error for the arguments, or null when they are valid.</summary>
    public static string? Validate(string url, IReadOnlyList<string> allowedOrigins, string viewport)
    {
        if (ParseViewport(viewport) is null)
        {
            return $"--viewport '{viewport}': write WIDTHxHEIGHT in CSS pixels, e.g. 1280x800.";
        }

        foreach (string origin in allowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out Uri? o) || (o.Scheme != Uri.UriSchemeHttp && o.Scheme != Uri.UriSchemeHttps))
            {
                return $"--allow-origin '{origin}' is not an http(s) origin; write it as scheme://host[:port], e.g. https://cdn.example.com.";
            }
        }

        if (Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && uri.Scheme != Uri.UriSchemeFile)
        {
            return uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps
                ? null
                : $"--url '{url}': only http(s) pages and local .html files can be opened (the web plugin refuses {uri.Scheme}: URLs).";
        }

        return null;
    }

    /// <summary>Builds the session options for a validated <c>--url</c>.</summary>
    /// <exception cref="Magma.Inference.MagmaInputException">A local file does not exist.</exception>
    public static WebPageTarget Create(string url, IReadOnlyList<string> allowedOrigins, string viewport)
    {
        (int width, int height) = ParseViewport(viewport) ?? throw new ArgumentException($"Invalid viewport '{viewport}'.", nameof(viewport));
        if (Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && uri.Scheme != Uri.UriSchemeFile)
        {
            return new WebPageTarget(uri.AbsoluteUri, new WebSessionOptions
            {
                ViewportWidth = width,
                ViewportHeight = height,
                AllowedOrigins = [uri.GetLeftPart(UriPartial.Authority), .. allowedOrigins],
            });
        }

        string file = Path.GetFullPath(uri?.LocalPath ?? url);
        if (!File.Exists(file))
        {
            throw new Magma.Inference.MagmaInputException($"--url: the page '{file}' does not exist; pass an http(s) URL or an existing .html file.");
        }

        return new WebPageTarget($"{LocalOrigin}/{Uri.EscapeDataString(Path.GetFileName(file))}", new WebSessionOptions
        {
            ViewportWidth = width,
            ViewportHeight = height,
            AllowedOrigins = allowedOrigins,
            LocalSites = new Dictionary<string, string> { [LocalOrigin] = Path.GetDirectoryName(file)! },
        });
    }

    private static (int Width, int Height)? ParseViewport(string text)
    {
        string[] parts = text.Split('x', 'X');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w > 0 && w <= 8192
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h) && h > 0 && h <= 8192
            ? (w, h)
            : null;
    }
}
