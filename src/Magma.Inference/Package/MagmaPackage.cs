using System.Text.Json;

namespace Magma.Inference.Package;

/// <summary>
/// A validated Magma ONNX package folder (docs/package-format.md): the manifest, the three graph files and the
/// checkpoint's config and tokenizer files. Opening checks everything that can be checked without ONNX Runtime;
/// graph input/output names and dims are checked when the sessions are created.
/// </summary>
public sealed class MagmaPackage
{
    /// <summary>Files every package must carry besides the manifest and the graphs.</summary>
    internal static readonly string[] RequiredFiles =
    [
        "config.json", "preprocessor_config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    ];

    private MagmaPackage(string directory, MagmaManifest manifest, int tokenizerMaxId, string vision, string embed, string decoder)
    {
        Directory = directory;
        Manifest = manifest;
        TokenizerMaxId = tokenizerMaxId;
        VisionPath = vision;
        EmbedPath = embed;
        DecoderPath = decoder;
    }

    /// <summary>Absolute path of the package folder.</summary>
    public string Directory { get; }

    /// <summary>The parsed manifest.</summary>
    public MagmaManifest Manifest { get; }

    /// <summary>Largest token id the tokenizer can produce (from <c>tokenizer.json</c>).</summary>
    public int TokenizerMaxId { get; }

    /// <summary>Full path of the vision graph (inside <see cref="Directory"/>).</summary>
    public string VisionPath { get; }

    /// <summary>Full path of the embedding graph (inside <see cref="Directory"/>).</summary>
    public string EmbedPath { get; }

    /// <summary>Full path of the decoder graph (inside <see cref="Directory"/>).</summary>
    public string DecoderPath { get; }

    /// <summary>Full path of <c>preprocessor_config.json</c>.</summary>
    public string PreprocessorConfigPath => Path.Combine(Directory, "preprocessor_config.json");

    /// <summary>Full path of <c>dataset_statistics.json</c>, or null when the package has none.</summary>
    public string? DatasetStatisticsPath
    {
        get
        {
            string p = Path.Combine(Directory, "dataset_statistics.json");
            return File.Exists(p) ? p : null;
        }
    }

    /// <summary>
    /// Opens and validates a package folder.
    /// </summary>
    /// <param name="directory">The folder holding <c>magma.json</c>.</param>
    /// <returns>The validated package.</returns>
    /// <exception cref="MagmaPackageException">A file is missing or malformed; the message names the file and field.</exception>
    public static MagmaPackage Open(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string dir = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(dir))
        {
            throw new MagmaPackageException($"Model package folder '{dir}' does not exist. Pass the folder written by tools/export (it holds magma.json).");
        }

        string manifestPath = Path.Combine(dir, ManifestReader.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new MagmaPackageException($"{ManifestReader.FileName}: file is missing from '{dir}'. Is this a Magma package folder written by tools/export?");
        }

        MagmaManifest manifest = ManifestReader.Parse(File.ReadAllText(manifestPath));

        string vision = CheckGraphFile(dir, manifest.Vision.File, "vision.file");
        string embed = CheckGraphFile(dir, manifest.Embed.File, "embed.file");
        string decoder = CheckGraphFile(dir, manifest.Decoder.File, "decoder.file");
        for (int i = 0; i < manifest.WeightsFiles.Count; i++)
        {
            string name = manifest.WeightsFiles[i];
            if (!File.Exists(PackagePath.Resolve(dir, name, $"weights_files[{i}]")))
            {
                throw new MagmaPackageException(
                    $"{ManifestReader.FileName}: field 'weights_files[{i}]' names \"{name}\", which is missing from '{dir}'. The graphs keep their weights there: copy it from the exporter's output folder (or re-export the package).");
            }
        }

        foreach (string name in RequiredFiles)
        {
            if (!File.Exists(Path.Combine(dir, name)))
            {
                // Say where the file comes from: the Hugging Face checkpoint folder (which a user of the tiny test package
                // or of someone else's export may not have), and how the package normally gets it.
                throw new MagmaPackageException(
                    $"{name}: file is missing from '{dir}'. It is the {name} of the Hugging Face checkpoint the package was exported " +
                    $"from (e.g. microsoft/Magma-8B); tools/export/export_magma.py copies it into the package. The repository's tiny " +
                    "test package, tests/assets/tiny-magma, has all of them.");
            }
        }

        foreach (string name in (string[])["config.json", "generation_config.json", "preprocessor_config.json", "tokenizer_config.json"])
        {
            ParseJsonFile(Path.Combine(dir, name), name).Dispose();
        }

        CheckConfigVocab(dir, manifest);
        int maxId = ScanTokenizerMaxId(Path.Combine(dir, "tokenizer.json"));
        if (maxId >= manifest.Decoder.VocabSize)
        {
            throw new MagmaPackageException(
                $"tokenizer.json: the tokenizer has token id {maxId}, which does not fit magma.json field 'decoder.vocab_size' = {manifest.Decoder.VocabSize}; the tokenizer and the decoder come from different checkpoints.");
        }

        if (manifest.Tokens.BaseVocabSize > maxId + 1)
        {
            throw new MagmaPackageException(
                $"magma.json: field 'tokens.base_vocab_size' is {manifest.Tokens.BaseVocabSize} but tokenizer.json's largest id is {maxId}.");
        }

        return new MagmaPackage(dir, manifest, maxId, vision, embed, decoder);
    }

    private static string CheckGraphFile(string dir, string file, string field)
    {
        string path = PackagePath.Resolve(dir, file, field);
        if (!File.Exists(path))
        {
            throw new MagmaPackageException($"{file}: file is missing from '{dir}' (named by magma.json field '{field}').");
        }

        return path;
    }

    private static JsonDocument ParseJsonFile(string path, string name)
    {
        try
        {
            using FileStream s = File.OpenRead(path);
            return JsonDocument.Parse(s);
        }
        catch (JsonException ex)
        {
            throw new MagmaPackageException($"{name}: not valid JSON ({ex.Message}).", ex);
        }
    }

    private static void CheckConfigVocab(string dir, MagmaManifest manifest)
    {
        using JsonDocument config = ParseJsonFile(Path.Combine(dir, "config.json"), "config.json");
        JsonElement root = config.RootElement;
        // Magma's config nests the LLM settings under text_config; a plain LLaMA config has them at the root.
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("text_config", out JsonElement text) && text.ValueKind == JsonValueKind.Object)
        {
            root = text;
        }

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("vocab_size", out JsonElement v) && v.TryGetInt32(out int vocab)
            && vocab != manifest.Decoder.VocabSize)
        {
            throw new MagmaPackageException(
                $"config.json: field 'vocab_size' is {vocab} but magma.json field 'decoder.vocab_size' is {manifest.Decoder.VocabSize}; re-export the package.");
        }
    }

    /// <summary>Largest id in <c>model.vocab</c> and <c>added_tokens</c> of a Hugging Face tokenizer.json.</summary>
    internal static int ScanTokenizerMaxId(string path)
    {
        using JsonDocument doc = ParseJsonFile(path, "tokenizer.json");
        JsonElement root = doc.RootElement;
        int max = -1;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model)
            || !model.TryGetProperty("vocab", out JsonElement vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new MagmaPackageException("tokenizer.json: field 'model.vocab' is missing or not an object; this is not a Hugging Face BPE tokenizer file. Use the tokenizer.json of the checkpoint the package was exported from (LLaMA-3's, as microsoft/Magma-8B ships it).");
        }

        foreach (JsonProperty p in vocab.EnumerateObject())
        {
            if (p.Value.TryGetInt32(out int id) && id > max)
            {
                max = id;
            }
        }

        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement t in added.EnumerateArray())
            {
                if (t.ValueKind == JsonValueKind.Object && t.TryGetProperty("id", out JsonElement idEl) && idEl.TryGetInt32(out int id) && id > max)
                {
                    max = id;
                }
            }
        }

        return max >= 0 ? max : throw new MagmaPackageException("tokenizer.json: field 'model.vocab' holds no token ids.");
    }
}
