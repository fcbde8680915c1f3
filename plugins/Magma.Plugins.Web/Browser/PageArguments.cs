using System.Collections.Concurrent;
using System.Reflection;

namespace Magma.Plugins.Web.Browser;

/// <summary>
/// Checks the arguments the session passes to its page script. Playwright serializes a <c>float</c> as <c>{}</c>, not a
/// number: in session 6 a click point passed as floats reached the page as empty objects, so the approval gate judged
/// no element under it. Every call site casts to <c>double</c> today; this refuses the next one that forgets, at its
/// first run in any test, instead of letting the page read nothing.
/// </summary>
internal static class PageArguments
{
    // Per argument type (each call site's anonymous type): the first float property's name, or null. Reflection runs
    // once per type; a call costs a dictionary lookup.
    private static readonly ConcurrentDictionary<Type, string?> s_floatProperty = new();

    /// <exception cref="InvalidOperationException">A property of <paramref name="args"/> is a <c>float</c>.</exception>
    public static void Check(string function, object args)
    {
        string? name = s_floatProperty.GetOrAdd(args.GetType(), static t => t
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(p => p.PropertyType == typeof(float) || p.PropertyType == typeof(float?))?.Name);
        if (name is not null)
        {
            throw new InvalidOperationException(
                $"Page function '{function}': argument '{name}' is a float, which Playwright sends as {{}} instead of a number. Pass it as a double.");
        }
    }
}
