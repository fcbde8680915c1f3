using System.Globalization;
using System.Text.Json;

namespace Magma.Inference.Package;

/// <summary>Reads <c>magma.json</c> field by field so every error names the file and the JSON path.</summary>
internal static class ManifestReader
{
    internal const string FileName = "magma.json";

    public static MagmaManifest Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new MagmaPackageException($"{FileName}: not valid JSON ({ex.Message}). Re-export the package with tools/export.", ex);
        }

        using (doc)
        {
            return Manifest(doc.RootElement);
        }
    }

    // The sections are read in file order and the cross-section checks run after the sections they compare,
    // so a manifest with several faults always reports the same (first) one.
    private static MagmaManifest Manifest(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("(root)", "must be a JSON object");
        }

        int version = FormatVersion(root);
        string dtype = DType(root);
        VisionManifest vision = Vision(Obj(root, "vision"));
        EmbedManifest embed = Embed(Obj(root, "embed"));
        DecoderManifest decoder = Decoder(Obj(root, "decoder"));
        CheckHiddenSizes(vision, embed, decoder);
        TokenManifest tokens = Tokens(Obj(root, "tokens"), decoder.VocabSize);
        return new MagmaManifest
        {
            FormatVersion = version,
            ModelId = OptStr(root, "model_id", "unknown"),
            Description = root.TryGetProperty("description", out JsonElement about) && about.ValueKind != JsonValueKind.Null ? OptStr(root, "description", "") : null,
            DType = dtype,
            Vision = vision,
            Embed = embed,
            Decoder = decoder,
            Tokens = tokens,
            UseImageStartEnd = OptBool(root, "mm_use_image_start_end", "") ?? true,
            Quantization = root.TryGetProperty("quantization", out JsonElement q) && q.ValueKind != JsonValueKind.Null ? Quantization(q) : null,
            WeightsFiles = OptStrList(root, "weights_files"),
        };
    }

    private static int FormatVersion(JsonElement root)
    {
        int version = Int(root, "format_version", min: 1);
        return version == 1
            ? version
            : throw Invalid("format_version", $"is {version}; this engine reads format_version 1. Update Magma.Inference or re-export the package");
    }

    private static string DType(JsonElement root)
    {
        string dtype = Str(root, "dtype");
        return dtype is "float32" or "float16"
            ? dtype
            : throw Invalid("dtype", $"is \"{dtype}\"; expected \"float32\" or \"float16\"");
    }

    private static VisionManifest Vision(JsonElement v)
    {
        var vision = new VisionManifest
        {
            File = Str(v, "file", "vision."),
            Input = Str(v, "input", "vision."),
            FeaturesOutput = Str(v, "features_output", "vision."),
            RowSeparatorOutput = Str(v, "row_separator_output", "vision."),
            CropSize = Int(v, "crop_size", "vision.", min: 32),
            FeatureGrid = Int(v, "feature_grid", "vision.", min: 1),
            HiddenSize = Int(v, "hidden_size", "vision.", min: 1),
            Strategy = OptStr(v, "strategy", "crop"),
        };
        if (vision.CropSize / 32 != vision.FeatureGrid || vision.CropSize % 32 != 0)
        {
            throw Invalid("vision.feature_grid", $"is {vision.FeatureGrid} but vision.crop_size {vision.CropSize} / 32 = {vision.CropSize / 32.0:0.##}");
        }

        return vision;
    }

    private static EmbedManifest Embed(JsonElement e) => new()
    {
        File = Str(e, "file", "embed."),
        Input = Str(e, "input", "embed."),
        Output = Str(e, "output", "embed."),
        HiddenSize = Int(e, "hidden_size", "embed.", min: 1),
    };

    private static DecoderManifest Decoder(JsonElement d)
    {
        var decoder = new DecoderManifest
        {
            File = Str(d, "file", "decoder."),
            NumLayers = Int(d, "num_layers", "decoder.", min: 1),
            NumAttentionHeads = Int(d, "num_attention_heads", "decoder.", min: 1),
            NumKeyValueHeads = Int(d, "num_key_value_heads", "decoder.", min: 1),
            HeadDim = Int(d, "head_dim", "decoder.", min: 1),
            HiddenSize = Int(d, "hidden_size", "decoder.", min: 1),
            VocabSize = Int(d, "vocab_size", "decoder.", min: 1),
            MaxPositionEmbeddings = Int(d, "max_position_embeddings", "decoder.", min: 2),
            HasPositionIds = OptBool(d, "has_position_ids", "decoder.") ?? false,
            KvCacheSharing = OptBool(d, "kv_cache_sharing", "decoder."),
            InputsEmbeds = OptStr(d, "inputs_embeds", "inputs_embeds"),
            AttentionMask = OptStr(d, "attention_mask", "attention_mask"),
            PositionIds = OptStr(d, "position_ids", "position_ids"),
            Logits = OptStr(d, "logits", "logits"),
            NextToken = d.TryGetProperty("next_token", out _) ? Str(d, "next_token", "decoder.") : null,
            TokenBias = d.TryGetProperty("token_bias", out _) ? Str(d, "token_bias", "decoder.") : null,
            PastKey = Pattern(d, "past_key", "past_key_values.{0}.key"),
            PastValue = Pattern(d, "past_value", "past_key_values.{0}.value"),
            PresentKey = Pattern(d, "present_key", "present.{0}.key"),
            PresentValue = Pattern(d, "present_value", "present.{0}.value"),
        };
        if (decoder.NumAttentionHeads % decoder.NumKeyValueHeads != 0)
        {
            throw Invalid("decoder.num_key_value_heads", $"({decoder.NumKeyValueHeads}) must divide decoder.num_attention_heads ({decoder.NumAttentionHeads})");
        }

        return decoder;
    }

    private static void CheckHiddenSizes(VisionManifest vision, EmbedManifest embed, DecoderManifest decoder)
    {
        if (vision.HiddenSize != decoder.HiddenSize)
        {
            throw Invalid("vision.hidden_size", $"is {vision.HiddenSize} but decoder.hidden_size is {decoder.HiddenSize}; image features must have the decoder's width");
        }

        if (embed.HiddenSize != decoder.HiddenSize)
        {
            throw Invalid("embed.hidden_size", $"is {embed.HiddenSize} but decoder.hidden_size is {decoder.HiddenSize}");
        }
    }

    private static TokenManifest Tokens(JsonElement t, int vocab)
    {
        var tokens = new TokenManifest
        {
            Bos = Int(t, "bos", "tokens.", min: 0),
            Eos = IntList(t, "eos", "tokens."),
            Pad = Int(t, "pad", "tokens.", min: 0),
            Image = Int(t, "image", "tokens.", min: 0),
            BaseVocabSize = Int(t, "base_vocab_size", "tokens.", min: 256),
        };
        CheckId(tokens.Bos, "tokens.bos", vocab);
        CheckId(tokens.Pad, "tokens.pad", vocab);
        CheckId(tokens.Image, "tokens.image", vocab);
        for (int i = 0; i < tokens.Eos.Count; i++)
        {
            CheckId(tokens.Eos[i], $"tokens.eos[{i}]", vocab);
        }

        if (tokens.BaseVocabSize > vocab)
        {
            throw Invalid("tokens.base_vocab_size", $"is {tokens.BaseVocabSize}, larger than decoder.vocab_size {vocab}");
        }

        return tokens;
    }

    private static WeightQuantization Quantization(JsonElement q)
    {
        if (q.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("quantization", $"must be an object, not {Describe(q)}");
        }

        string method = Str(q, "method", "quantization.");
        if (method != "MatMulNBits")
        {
            throw Invalid("quantization.method", $"is \"{method}\"; this engine runs \"MatMulNBits\" packages (tools/export/quantize_package.py)");
        }

        int bits = Int(q, "bits", "quantization.");
        if (bits != 4)
        {
            throw Invalid("quantization.bits", $"is {bits}; expected 4");
        }

        int block = Int(q, "block_size", "quantization.");
        if (block is < 16 or > 256 || (block & (block - 1)) != 0)
        {
            throw Invalid("quantization.block_size", $"is {block}; MatMulNBits takes a power of two from 16 to 256");
        }

        string head = OptStr(q, "lm_head", "int4", "quantization.");
        if (head is not ("int4" or "int8" or "float"))
        {
            throw Invalid("quantization.lm_head", $"is \"{head}\"; expected \"int4\", \"int8\" or \"float\"");
        }

        string embed = OptStr(q, "embed", "float", "quantization.");
        if (embed is not ("int8" or "float"))
        {
            throw Invalid("quantization.embed", $"is \"{embed}\"; expected \"int8\" or \"float\"");
        }

        return new WeightQuantization
        {
            Method = method,
            Bits = bits,
            BlockSize = block,
            Symmetric = OptBool(q, "symmetric", "quantization.") ?? true,
            LmHead = head,
            Embed = embed,
        };
    }

    private static void CheckId(int id, string field, int vocab)
    {
        if (id >= vocab)
        {
            throw Invalid(field, $"is {id}, outside decoder.vocab_size {vocab}");
        }
    }

    internal static MagmaPackageException Invalid(string field, string what) =>
        new($"{FileName}: field '{field}' {what}.");

    private static MagmaPackageException Missing(string field, string kind) =>
        new($"{FileName}: field '{field}' is missing; it must be {kind} (see docs/package-format.md).");

    private static JsonElement Obj(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out JsonElement el))
        {
            throw Missing(name, "an object");
        }

        return el.ValueKind == JsonValueKind.Object ? el : throw Invalid(name, $"must be an object, not {el.ValueKind}");
    }

    private static string Str(JsonElement parent, string name, string prefix = "")
    {
        if (!parent.TryGetProperty(name, out JsonElement el))
        {
            throw Missing(prefix + name, "a non-empty string");
        }

        string? s = el.ValueKind == JsonValueKind.String ? el.GetString() : null;
        return string.IsNullOrWhiteSpace(s) ? throw Invalid(prefix + name, "must be a non-empty string") : s;
    }

    private static string OptStr(JsonElement parent, string name, string fallback, string prefix = "")
    {
        if (!parent.TryGetProperty(name, out JsonElement el) || el.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        string? s = el.ValueKind == JsonValueKind.String ? el.GetString() : null;
        return string.IsNullOrWhiteSpace(s) ? throw Invalid(prefix + name, "must be a non-empty string") : s;
    }

    private static string[] OptStrList(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out JsonElement el) || el.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (el.ValueKind != JsonValueKind.Array)
        {
            throw Invalid(name, $"must be a list of file names, not {Describe(el)}");
        }

        var values = new string[el.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in el.EnumerateArray())
        {
            string? s = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
            values[i] = string.IsNullOrWhiteSpace(s) ? throw Invalid($"{name}[{i}]", $"must be a non-empty file name, not {Describe(item)}") : s;
            i++;
        }

        return values;
    }

    private static string Pattern(JsonElement parent, string name, string fallback)
    {
        string p = OptStr(parent, name, fallback, "decoder.");
        return p.Contains("{0}", StringComparison.Ordinal)
            ? p
            : throw Invalid("decoder." + name, $"is \"{p}\" but must contain {{0}} where the layer index goes");
    }

    private static int Int(JsonElement parent, string name, string prefix = "", int min = int.MinValue)
    {
        if (!parent.TryGetProperty(name, out JsonElement el))
        {
            throw Missing(prefix + name, "an integer");
        }

        if (el.ValueKind != JsonValueKind.Number || !el.TryGetInt32(out int value))
        {
            throw Invalid(prefix + name, $"must be an integer, not {Describe(el)}");
        }

        return value < min ? throw Invalid(prefix + name, $"is {value}; it must be at least {min}") : value;
    }

    private static bool? OptBool(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out JsonElement el) || el.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return el.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(prefix + name, $"must be true or false, not {Describe(el)}"),
        };
    }

    private static int[] IntList(JsonElement parent, string name, string prefix)
    {
        if (!parent.TryGetProperty(name, out JsonElement el))
        {
            throw Missing(prefix + name, "an integer or a list of integers");
        }

        if (el.ValueKind == JsonValueKind.Number && el.TryGetInt32(out int single) && single >= 0)
        {
            return [single];
        }

        if (el.ValueKind != JsonValueKind.Array || el.GetArrayLength() == 0)
        {
            throw Invalid(prefix + name, $"must be a non-empty list of token ids, not {Describe(el)}");
        }

        var ids = new int[el.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in el.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]) || ids[i] < 0)
            {
                throw Invalid($"{prefix}{name}[{i}]", $"must be a non-negative integer, not {Describe(item)}");
            }

            i++;
        }

        return ids;
    }

    private static string Describe(JsonElement el) => el.ValueKind switch
    {
        JsonValueKind.String => "\"" + el.GetString() + "\"",
        JsonValueKind.Number => el.GetRawText(),
        _ => el.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture),
    };
}
