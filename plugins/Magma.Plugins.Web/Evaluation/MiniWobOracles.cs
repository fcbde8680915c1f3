using System.Globalization;
using System.Text.RegularExpressions;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using static Magma.Plugins.Web.Evaluation.OracleView;

namespace Magma.Plugins.Web.Evaluation;

/// <summary>
/// Scripted oracles for the MiniWoB++ development tasks whose steps depend on what the page shows (issue 17's set). Each
/// reads the goal text, then the marks and visible text of each observation, and acts only through marks and the
/// session's actions: nothing is read from the page's DOM or scripts.
/// </summary>
internal static partial class MiniWobOracles
{
    /// <summary>The script for a task, or null when the task has none (fixed steps or no oracle).</summary>
    public static Func<IWebPolicy>? Script(string task, string goal)
    {
        Func<OracleView, IEnumerable<WebDecision>>? body = task switch
        {
            _ => null,
        };
        return body is null ? null : () => new ScriptedOracle(body);
    }
}
