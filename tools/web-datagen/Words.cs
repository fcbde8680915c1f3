using System.Reflection;

namespace Magma.WebDataGen;

/// <summary>The generator's word list (words.txt, embedded): named sections of words and phrases.</summary>
internal sealed class Words
{
    private readonly Dictionary<string, string[]> _sections;

    private Words(Dictionary<string, string[]> sections) => _sections = sections;

    /// <summary>The embedded list.</summary>
    public static Words Default { get; } = Parse(ReadEmbedded());

    /// <summary>The words of a section.</summary>
    /// <exception cref="KeyNotFoundException">No such section.</exception>
    public IReadOnlyList<string> this[string section] =>
        _sections.TryGetValue(section, out string[]? words) ? words : throw new KeyNotFoundException($"words.txt has no [{section}] section.");

    /// <summary>Whether a section exists.</summary>
    public bool Has(string section) => _sections.ContainsKey(section);

    internal static Words Parse(string text)
    {
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                current = [];
                sections[line[1..^1]] = current;
                continue;
            }

            (current ?? throw new FormatException($"words.txt: \"{line}\" comes before any [section]."))
                .Add(line);
        }

        return new Words(sections.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal));
    }

    private static string ReadEmbedded()
    {
        using Stream s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Magma.WebDataGen.words.txt")
            ?? throw new InvalidOperationException("words.txt is not embedded in Magma.WebDataGen.");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}

/// <summary>
/// The seeded random source of one page. <see cref="Random"/> with an explicit seed uses .NET's fixed legacy algorithm,
/// so a seed gives the same page on every machine and .NET version. Its first draws are close for close seeds, so the
/// page seed is mixed (SplitMix64's finaliser) before it seeds the generator: seeds 0, 1, 2… give unrelated pages.
/// </summary>
internal sealed class PageRandom(int seed)
{
    private readonly Random _r = new(Mix(seed));

    internal static int Mix(int seed)
    {
        ulong z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    public int Int(int minInclusive, int maxExclusive) => _r.Next(minInclusive, maxExclusive);

    public double Double() => _r.NextDouble();

    public bool Chance(double p) => _r.NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[_r.Next(items.Count)];

    /// <summary><paramref name="count"/> distinct items in random order (all of them when there are fewer).</summary>
    public List<T> Distinct<T>(IReadOnlyList<T> items, int count)
    {
        var pool = items.ToList();
        var result = new List<T>(Math.Min(count, pool.Count));
        while (result.Count < count && pool.Count > 0)
        {
            int i = _r.Next(pool.Count);
            result.Add(pool[i]);
            pool.RemoveAt(i);
        }

        return result;
    }
}
