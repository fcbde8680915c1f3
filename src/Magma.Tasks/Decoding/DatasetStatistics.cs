using System.Text.Json;
using Magma.Inference;

namespace Magma.Tasks.Decoding;

/// <summary>
/// The action statistics of an OpenVLA-style <c>dataset_statistics.json</c>
/// (<c>{ "&lt;key&gt;": { "action": { "q01": [...], "q99": [...], "mask": [...] } } }</c>), keyed by dataset name,
/// e.g. <c>libero_goal_no_noops</c> (spec §6.5).
/// </summary>
public sealed class DatasetStatistics
{
    // A statistics file is a few kilobytes per dataset; anything far larger is not one.
    private const long MaxFileBytes = 16 * 1024 * 1024;

    private readonly Dictionary<string, ActionStatistics> _byKey;
    private readonly string _sourceName;

    private DatasetStatistics(Dictionary<string, ActionStatistics> byKey, string sourceName)
    {
        _byKey = byKey;
        _sourceName = sourceName;
    }

    /// <summary>The dataset keys that carry action statistics, in file order.</summary>
    public IReadOnlyCollection<string> Keys => _byKey.Keys;

    /// <summary>Reads and validates a <c>dataset_statistics.json</c> file.</summary>
    /// <exception cref="MagmaPackageException">The file is missing, unreadable or malformed; the message names the file and field.</exception>
    public static DatasetStatistics Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new MagmaPackageException(
                    $"{path}: dataset statistics file not found. Robot actions are un-normalised with the statistics of the fine-tuned " +
                    "checkpoint the package was exported from (a LIBERO or other robot fine-tune ships dataset_statistics.json; " +
                    "tools/export/export_magma.py copies it); the base Magma-8B checkpoint has none.");
            }

            if (info.Length > MaxFileBytes)
            {
                throw new MagmaPackageException($"{path}: {info.Length} bytes is too large for a dataset statistics file (limit {MaxFileBytes}).");
            }

            json = File.ReadAllText(path);
        }
        catch (IOException ex)
        {
            throw new MagmaPackageException($"{path}: cannot read the dataset statistics file: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new MagmaPackageException($"{path}: cannot read the dataset statistics file: {ex.Message}", ex);
        }

        return Parse(json, path);
    }

    /// <summary>Parses and validates the text of a <c>dataset_statistics.json</c> file.</summary>
    /// <param name="json">The file content.</param>
    /// <param name="sourceName">The file name used in error messages.</param>
    /// <exception cref="MagmaPackageException">The JSON is malformed or a field is missing or invalid.</exception>
    public static DatasetStatistics Parse(string json, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(sourceName);

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw new MagmaPackageException($"{sourceName}: not valid JSON ({ex.Message}).", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new MagmaPackageException($"{sourceName}: the root must be an object keyed by dataset name, found {document.RootElement.ValueKind}.");
            }

            var byKey = new Dictionary<string, ActionStatistics>(StringComparer.Ordinal);
            foreach (JsonProperty dataset in document.RootElement.EnumerateObject())
            {
                if (dataset.Value.ValueKind != JsonValueKind.Object ||
                    !dataset.Value.TryGetProperty("action", out JsonElement action))
                {
                    // Other top-level entries (e.g. bookkeeping) carry no action statistics; they are not ours to judge.
                    continue;
                }

                string field = $"{dataset.Name}.action";
                if (action.ValueKind != JsonValueKind.Object)
                {
                    throw new MagmaPackageException($"{sourceName}: field '{field}' must be an object with q01, q99 and optional mask.");
                }

                double[] q01 = ReadNumbers(action, "q01", field, sourceName);
                double[] q99 = ReadNumbers(action, "q99", field, sourceName);
                bool[]? mask = ReadMask(action, field, sourceName);
                string? problem = ActionStatistics.Validate(q01, q99, mask);
                if (problem is not null)
                {
                    throw new MagmaPackageException($"{sourceName}: field '{field}': {problem}.");
                }

                if (!byKey.TryAdd(dataset.Name, new ActionStatistics(q01, q99, mask)))
                {
                    throw new MagmaPackageException($"{sourceName}: dataset key '{dataset.Name}' appears twice.");
                }
            }

            if (byKey.Count == 0)
            {
                throw new MagmaPackageException($"{sourceName}: no dataset entry has an 'action' object with q01/q99 statistics.");
            }

            return new DatasetStatistics(byKey, sourceName);
        }
    }

    /// <summary>Returns the action statistics stored under <paramref name="key"/> (e.g. <c>libero_goal_no_noops</c>).</summary>
    /// <exception cref="MagmaPackageException">The key is not in the file; the message lists the keys that are.</exception>
    public ActionStatistics For(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_byKey.TryGetValue(key, out ActionStatistics? stats))
        {
            return stats;
        }

        throw new MagmaPackageException(
            $"{_sourceName}: no action statistics for dataset key '{key}'. Available keys: {string.Join(", ", _byKey.Keys)}. " +
            "LIBERO checkpoints use '<task_suite>_no_noops', e.g. 'libero_goal_no_noops'.");
    }

    private static double[] ReadNumbers(JsonElement action, string name, string field, string sourceName)
    {
        if (!action.TryGetProperty(name, out JsonElement array))
        {
            throw new MagmaPackageException($"{sourceName}: field '{field}.{name}' is missing.");
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new MagmaPackageException($"{sourceName}: field '{field}.{name}' must be an array of {ActionStatistics.Dimensions} numbers.");
        }

        int length = array.GetArrayLength();
        if (length != ActionStatistics.Dimensions)
        {
            throw new MagmaPackageException($"{sourceName}: field '{field}.{name}' has {length} values; expected {ActionStatistics.Dimensions}.");
        }

        var values = new double[length];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double value) || !double.IsFinite(value))
            {
                throw new MagmaPackageException($"{sourceName}: field '{field}.{name}[{i}]' must be a finite number, found {item.GetRawText()}.");
            }

            values[i++] = value;
        }

        return values;
    }

    private static bool[]? ReadMask(JsonElement action, string field, string sourceName)
    {
        if (!action.TryGetProperty("mask", out JsonElement array) || array.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() != ActionStatistics.Dimensions)
        {
            throw new MagmaPackageException($"{sourceName}: field '{field}.mask' must be an array of {ActionStatistics.Dimensions} booleans.");
        }

        var mask = new bool[ActionStatistics.Dimensions];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            mask[i] = item.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new MagmaPackageException($"{sourceName}: field '{field}.mask[{i}]' must be true or false, found {item.GetRawText()}."),
            };
            i++;
        }

        return mask;
    }
}
