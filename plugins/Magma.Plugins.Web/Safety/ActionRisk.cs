using System.Text.RegularExpressions;
using Magma.Plugins.Web.Observation;

namespace Magma.Plugins.Web.Safety;

/// <summary>
/// Decides whether an action on a mark is irreversible enough to need a person's approval: form submits, file uploads,
/// Enter in a sign-in form or in a form whose submit reads like one of the following, and controls whose name reads like buy/pay/delete/send/submit/confirm.
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

    /// <summary>
    /// Why pressing Enter on <paramref name="target"/> needs approval, or null: Enter on a button that reads as
    /// irreversible, or Enter in a form that has a password field or whose submit controls / label read as submit,
    /// sign-in or an irreversible action (Enter submits such a form as its submit button would).
    /// </summary>
    internal static string? ClassifyEnter(EnterTarget? target)
    {
        if (target is null)
        {
            return null;
        }

        if (target.Own.Length > 0 && Irreversible().IsMatch(target.Own))
        {
            return $"presses Enter on {target.Element}, which reads as an irreversible action";
        }

        if (!target.InForm)
        {
            return null;
        }

        if (target.Password)
        {
            return $"submits a sign-in form by pressing Enter in {target.Element}";
        }

        string? word = target.Submits.Append(target.FormLabel).FirstOrDefault(w => Irreversible().IsMatch(w) || SignIn().IsMatch(w));
        return word is null ? null : $"submits a form (\"{word}\") by pressing Enter in {target.Element}";
    }

    [GeneratedRegex(@"\b(sign ?in|log ?in|sign ?up|register|create account)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SignIn();

    [GeneratedRegex(@"\b(buy|purchase|pay|order|checkout|check out|delete|remove|erase|send|submit|confirm|transfer|publish|post|unsubscribe|sign out|log out|place)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Irreversible();
}

/// <summary>What Enter would act on (see <see cref="Browser.WebSession"/>): the element, its own name when it is a
/// button, and its form's submit-control names, label and password field.</summary>
internal sealed record EnterTarget(string Element, bool InForm, string Own, IReadOnlyList<string> Submits, string FormLabel, bool Password);
