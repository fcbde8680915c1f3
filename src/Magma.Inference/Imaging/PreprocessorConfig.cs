using System.Text.Json;

namespace Magma.Inference.Imaging;

/// <summary>
/// The image-processor settings of a Magma checkpoint (<c>preprocessor_config.json</c>). Defaults are the released
/// Magma-8B values: 512-pixel crops, at most 4 crops, OpenAI-CLIP mean/std, <c>crop</c> strategy.
/// </summary>
public sealed class PreprocessorConfig
{
    private static readonly float[] ClipMean = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] ClipStd = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>The released Magma-8B settings.</summary>
    public static PreprocessorConfig Default { get; } = new();

    /// <summary>Side of one square crop in pixels (<c>base_img_size</c>); a positive multiple of 32.</summary>
    public int BaseImageSize { get; init; } = 512;

    /// <summary>Largest number of crops per image (<c>num_crops</c>); at least 1.</summary>
    public int NumCrops { get; init; } = 4;

    /// <summary>Per-channel (R, G, B) mean subtracted after scaling to [0, 1] (<c>image_mean</c>).</summary>
#pragma warning disable CA1819 // The API is fixed by the team lead; ImagePreprocessor copies the values.
    public float[] ImageMean { get; init; } = (float[])ClipMean.Clone();

    /// <summary>Per-channel (R, G, B) standard deviation divided by after the mean (<c>image_std</c>).</summary>
    public float[] ImageStd { get; init; } = (float[])ClipStd.Clone();
#pragma warning restore CA1819

    /// <summary>
    /// <c>anyres_strategy</c> as written in the file ("crop" in the release). Informational: like the reference
    /// processor's <c>preprocess()</c>, <see cref="ImagePreprocessor"/> always produces crops.
    /// </summary>
    public string AnyresStrategy { get; init; } = "crop";

    /// <summary>Reads a Hugging Face <c>preprocessor_config.json</c>.</summary>
    /// <exception cref="MagmaPackageException">The file is missing, not JSON, or a known key has an invalid value.</exception>
    public static PreprocessorConfig Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MagmaPackageException($"'{path}' could not be read ({e.Message}). The model folder needs a preprocessor_config.json.", e);
        }

        return Parse(json, path);
    }

    /// <summary>
    /// Parses the JSON text of a <c>preprocessor_config.json</c>. Reads <c>base_img_size</c>, <c>num_crops</c>,
    /// <c>image_mean</c>, <c>image_std</c> and <c>anyres_strategy</c>; missing keys keep their defaults and
    /// other keys are ignored.
    /// </summary>
    /// <param name="json">The file content.</param>
    /// <param name="sourceName">File name used in error messages.</param>
    /// <exception cref="MagmaPackageException">The text is not a JSON object or a known key has an invalid value.</exception>
    public static PreprocessorConfig Parse(string json, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(json);
        string file = string.IsNullOrEmpty(sourceName) ? "preprocessor_config.json" : sourceName;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new MagmaPackageException($"'{file}' is not valid JSON ({e.Message}).", e);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new MagmaPackageException($"'{file}' must contain a JSON object, found {root.ValueKind}.");
            }

            var d = Default;
            int baseSize = ReadInt(root, file, "base_img_size", d.BaseImageSize);
            if (baseSize <= 0 || baseSize % 32 != 0)
            {
                throw new MagmaPackageException($"'{file}': base_img_size must be a positive multiple of 32 (the vision trunk's stride), found {baseSize}.");
            }

            int numCrops = ReadInt(root, file, "num_crops", d.NumCrops);
            if (numCrops < 1 || numCrops > 64)
            {
                throw new MagmaPackageException($"'{file}': num_crops must be between 1 and 64, found {numCrops}.");
            }

            float[] mean = ReadTriple(root, file, "image_mean", ClipMean, requirePositive: false);
            float[] std = ReadTriple(root, file, "image_std", ClipStd, requirePositive: true);
            string strategy = d.AnyresStrategy;
            if (root.TryGetProperty("anyres_strategy", out JsonElement s))
            {
                if (s.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(s.GetString()))
                {
                    throw new MagmaPackageException($"'{file}': anyres_strategy must be a non-empty string such as \"crop\", found {s.GetRawText()}.");
                }

                strategy = s.GetString()!;
            }

            return new PreprocessorConfig
            {
                BaseImageSize = baseSize,
                NumCrops = numCrops,
                ImageMean = mean,
                ImageStd = std,
                AnyresStrategy = strategy,
            };
        }
    }

    private static int ReadInt(JsonElement root, string file, string key, int fallback)
    {
        if (!root.TryGetProperty(key, out JsonElement e))
        {
            return fallback;
        }

        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v))
        {
            return v;
        }

        // Python json writes 512.0 for floats that hold integers; accept those.
        if (e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double dv) && dv == Math.Floor(dv) && dv is >= int.MinValue and <= int.MaxValue)
        {
            return (int)dv;
        }

        throw new MagmaPackageException($"'{file}': {key} must be an integer, found {e.GetRawText()}.");
    }

    private static float[] ReadTriple(JsonElement root, string file, string key, float[] fallback, bool requirePositive)
    {
        if (!root.TryGetProperty(key, out JsonElement e))
        {
            return (float[])fallback.Clone();
        }

        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 3)
        {
            throw new MagmaPackageException($"'{file}': {key} must be an array of 3 numbers (R, G, B), found {e.GetRawText()}.");
        }

        var values = new float[3];
        int i = 0;
        foreach (JsonElement item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double v) || !double.IsFinite(v) || (requirePositive && v <= 0))
            {
                string need = requirePositive ? "positive finite numbers" : "finite numbers";
                throw new MagmaPackageException($"'{file}': {key} must hold 3 {need}, found {e.GetRawText()}.");
            }

            // torchvision builds the mean/std tensors in float32 from these Python floats.
            values[i++] = (float)v;
        }

        return values;
    }
}
