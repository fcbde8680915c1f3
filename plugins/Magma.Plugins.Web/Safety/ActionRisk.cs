using System.Text.RegularExpressions;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Safety;

/// <summary>
/// Decides whether an action on a mark is irreversible enough to need a person's approval: form submits, file uploads,
/// Enter in a sign-in form, and controls whose name reads like buy/pay/delete/send/submit/confirm.
/// </summary>
public static partial class ActionRisk
{
    /// <summary>Why the action needs approval, or null when it does not.</summary>
    /// <param name="action">The kernel function name: click, type, select, press.</param>
    /// <param name="mark">The target mark, when the action has one.</param>
    /// <param name="pressEnter">For type: whether Enter is pressed afterwards.</param>
    public static string? Classify(string action, WebMark? mark, bool pressEnter = false)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (mark is null)
        {
            return null;
        }

        if (mark.IsFileInput)
        {
            return $"uploads a file through {mark.Describe()}";
        }

        if (action == "click" && mark.IsSubmit)
        {
            return $"submits a form with {mark.Describe()}";
        }

        if (action == "type" && pressEnter && mark.InPasswordForm)
        {
            return $"submits a sign-in form by pressing Enter in {mark.Describe()}";
        }

        if (action == "click" && Irreversible().IsMatch(mark.Name))
        {
            return $"{mark.Describe()} reads as an irreversible action";
        }

        return null;
    }

    [GeneratedRegex(@"\b(buy|purchase|pay|order|checkout|check out|delete|remove|erase|send|submit|confirm|transfer|publish|post|unsubscribe|sign out|log out|place)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Irreversible();
}
