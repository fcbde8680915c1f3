using Magma.Plugins.Web.Acting;
using Magma.Plugins.Web.Browser;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;

namespace Magma.WebDataGen;

/// <summary>
/// Carries out a decision of the answer vocabulary the generator writes (click, type, select, hover, scroll) with the
/// session's real input, as the agent would; used to check examples and, later, to score a model in the browser.
/// </summary>
internal static class Acting
{
    public static Task<WebEffect> ActAsync(WebSession session, WebObservation obs, WebDecision d, CancellationToken ct = default) => d.Kind switch
    {
        WebDecisionKind.Click when d.Mark is int m => session.ClickAsync(obs.Id, m, ct),
        WebDecisionKind.Click when d.Point is { } p => session.ClickPointAsync(obs.Id, p.X, p.Y, ct),
        WebDecisionKind.Type when d.Mark is int m => session.TypeAsync(obs.Id, m, d.Value ?? "", false, ct),
        WebDecisionKind.Select when d.Mark is int m => session.SelectAsync(obs.Id, m, d.Value ?? "", ct),
        WebDecisionKind.Hover when d.Mark is int m => session.HoverAsync(obs.Id, m, ct),
        WebDecisionKind.Scroll => session.ScrollAsync(d.Value ?? "down", d.Mark is null ? null : obs.Id, d.Mark, ct),
        _ => throw new InvalidOperationException($"{d} is not an action the generator writes."),
    };

    /// <summary>Whether an example's effect expression holds on the page now.</summary>
    public static Task<bool> EffectHoldsAsync(WebSession session, string effect) => session.Page.EvaluateAsync<bool>($"() => !!({effect})");
}
