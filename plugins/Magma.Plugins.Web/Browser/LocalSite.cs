namespace Magma.Plugins.Web.Browser;

/// <summary>Serves a folder under a fake origin through Playwright request routing, so no port is opened.</summary>
internal sealed class LocalSite
{
    private readonly string _root;

    public LocalSite(string origin, string directory)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"LocalSites key \"{origin}\" must be an http(s) origin such as http://tasks.test.", nameof(origin));
        }

        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"LocalSites[\"{origin}\"]: folder \"{directory}\" does not exist; pass the folder that holds the site's files.");
        }

        Origin = Safety.OriginPolicy.OriginOf(uri);
        _root = Path.GetFullPath(directory).TrimEnd('/') + "/";
    }

    public string Origin { get; }

    /// <summary>The file for a request URL, or null when it is outside the folder or missing.</summary>
    public string? Resolve(Uri url)
    {
        string rel = Uri.UnescapeDataString(url.AbsolutePath).TrimStart('/');
        if (rel.Length == 0 || rel.EndsWith('/'))
        {
            rel += "index.html";
        }

        string full = Path.GetFullPath(Path.Combine(_root, rel));
        return full.StartsWith(_root, StringComparison.Ordinal) && File.Exists(full) ? full : null;
    }

    public static string ContentType(string path) => Path.GetExtension(path).ToUpperInvariant() switch
    {
        ".HTML" or ".HTM" => "text/html; charset=utf-8",
        ".JS" or ".MJS" => "text/javascript; charset=utf-8",
        ".CSS" => "text/css; charset=utf-8",
        ".JSON" => "application/json",
        ".PNG" => "image/png",
        ".JPG" or ".JPEG" => "image/jpeg",
        ".GIF" => "image/gif",
        ".SVG" => "image/svg+xml",
        ".WOFF2" => "font/woff2",
        _ => "application/octet-stream",
    };
}
