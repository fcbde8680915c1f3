using Magma.Plugins.Web.Browser;

namespace Magma.Plugins.Web.Tests;

/// <summary>The project's task pages, served under a fake origin by the session's routing.</summary>
internal static class Pages
{
    public const string Origin = "http://tasks.test";

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "assets", "web");

    public static string Url(string page) => $"{Origin}/{page}";

    public static readonly string[] Tasks = ["form.html", "menu.html", "dialog.html", "iframe.html", "shadow.html", "scroll.html", "occluded.html", "popup.html"];

    public static Task<WebSession> LaunchAsync(float dsf = 1f, IReadOnlyDictionary<string, string>? secrets = null) =>
        WebSession.LaunchAsync(new WebSessionOptions
        {
            ViewportWidth = 800,
            ViewportHeight = 600,
            DeviceScaleFactor = dsf,
            LocalSites = new Dictionary<string, string> { [Origin] = Folder },
            Secrets = secrets ?? new Dictionary<string, string>(),
            // The task pages are local; tests of the gate set their own approver (or none).
            Approve = (_, _) => Task.FromResult(true),
        });
}
