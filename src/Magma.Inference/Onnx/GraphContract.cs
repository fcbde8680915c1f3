using System.Globalization;
using Magma.Inference.Package;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// Checks a session's input/output names, element types and fixed dims against the manifest, so a mismatched
/// export fails at load with the file and the tensor named instead of failing inside ORT mid-request.
/// </summary>
internal static class GraphContract
{
    /// <summary>-1 in an expected shape means "any size" (a symbolic dim in the graph is always accepted).</summary>
    private const int Any = -1;

    public static TensorElementType FloatType(MagmaManifest m) =>
        m.DType == "float16" ? TensorElementType.Float16 : TensorElementType.Float;

    public static void ValidateVision(InferenceSession s, MagmaManifest m)
    {
        VisionManifest v = m.Vision;
        TensorElementType f = FloatType(m);
        Expect(s.InputMetadata, v.File, "input", v.Input, "vision.input", f, [Any, 3, v.CropSize, v.CropSize]);
        Expect(s.OutputMetadata, v.File, "output", v.FeaturesOutput, "vision.features_output", f, [Any, v.FeatureGrid, v.FeatureGrid, v.HiddenSize]);
        Expect(s.OutputMetadata, v.File, "output", v.RowSeparatorOutput, "vision.row_separator_output", f, [v.HiddenSize]);
        OnlyKnownInputs(s, v.File, [v.Input]);
    }

    public static void ValidateEmbed(InferenceSession s, MagmaManifest m)
    {
        EmbedManifest e = m.Embed;
        Expect(s.InputMetadata, e.File, "input", e.Input, "embed.input", TensorElementType.Int64, [Any, Any]);
        Expect(s.OutputMetadata, e.File, "output", e.Output, "embed.output", FloatType(m), [Any, Any, e.HiddenSize]);
        OnlyKnownInputs(s, e.File, [e.Input]);
    }

    public static void ValidateDecoder(InferenceSession s, MagmaManifest m)
    {
        DecoderManifest d = m.Decoder;
        TensorElementType f = FloatType(m);
        var known = new List<string> { d.InputsEmbeds, d.AttentionMask };
        Expect(s.InputMetadata, d.File, "input", d.InputsEmbeds, "decoder.inputs_embeds", f, [Any, Any, d.HiddenSize]);
        Expect(s.InputMetadata, d.File, "input", d.AttentionMask, "decoder.attention_mask", TensorElementType.Int64, [Any, Any]);
        if (d.HasPositionIds)
        {
            Expect(s.InputMetadata, d.File, "input", d.PositionIds, "decoder.position_ids", TensorElementType.Int64, [Any, Any]);
            known.Add(d.PositionIds);
        }

        Expect(s.OutputMetadata, d.File, "output", d.Logits, "decoder.logits", f, [Any, Any, d.VocabSize]);
        if (d.NextToken is not null)
        {
            Expect(s.OutputMetadata, d.File, "output", d.NextToken, "decoder.next_token", TensorElementType.Int64, [Any, 1]);
        }

        if (d.TokenBias is not null)
        {
            // An input with a default (an overridable initializer): binding it is optional.
            Expect(s.OverridableInitializerMetadata, d.File, "optional input", d.TokenBias, "decoder.token_bias", f, [Any]);
        }

        int[] kv = [Any, d.NumKeyValueHeads, Any, d.HeadDim];
        for (int i = 0; i < d.NumLayers; i++)
        {
            Expect(s.InputMetadata, d.File, "input", d.PastKeyName(i), "decoder.past_key", f, kv);
            Expect(s.InputMetadata, d.File, "input", d.PastValueName(i), "decoder.past_value", f, kv);
            Expect(s.OutputMetadata, d.File, "output", d.PresentKeyName(i), "decoder.present_key", f, kv);
            Expect(s.OutputMetadata, d.File, "output", d.PresentValueName(i), "decoder.present_value", f, kv);
            known.Add(d.PastKeyName(i));
            known.Add(d.PastValueName(i));
        }

        if (s.InputMetadata.ContainsKey(d.PastKeyName(d.NumLayers)))
        {
            throw new MagmaPackageException(
                $"{d.File}: the graph has input '{d.PastKeyName(d.NumLayers)}', so it has more layers than magma.json field 'decoder.num_layers' = {d.NumLayers}.");
        }

        OnlyKnownInputs(s, d.File, known);
    }

    private static void Expect(
        IReadOnlyDictionary<string, NodeMetadata> metadata, string file, string kind, string name, string field,
        TensorElementType type, int[] dims)
    {
        if (!metadata.TryGetValue(name, out NodeMetadata? meta))
        {
            throw new MagmaPackageException(
                $"{file}: the graph has no {kind} named '{name}' (magma.json field '{field}'); its {kind}s are {string.Join(", ", metadata.Keys.Take(12))}{(metadata.Count > 12 ? ", ..." : "")}.");
        }

        if (!meta.IsTensor || meta.ElementDataType != type)
        {
            throw new MagmaPackageException(
                $"{file}: {kind} '{name}' has element type {(meta.IsTensor ? meta.ElementDataType : meta.OnnxValueType)} but the engine expects {type} (magma.json fields '{field}' and 'dtype').");
        }

        int[] actual = meta.Dimensions;
        bool ok = actual.Length == dims.Length;
        for (int i = 0; ok && i < dims.Length; i++)
        {
            ok = dims[i] == Any || actual[i] <= 0 || actual[i] == dims[i];
        }

        if (!ok)
        {
            throw new MagmaPackageException(
                $"{file}: {kind} '{name}' has dims {Show(actual)} but magma.json ('{field}' and the sizes it implies) expects {Show(dims)}.");
        }
    }

    private static void OnlyKnownInputs(InferenceSession s, string file, IEnumerable<string> known)
    {
        var set = new HashSet<string>(known, StringComparer.Ordinal);
        foreach (string input in s.InputMetadata.Keys)
        {
            if (!set.Contains(input))
            {
                throw new MagmaPackageException($"{file}: the graph needs input '{input}', which magma.json does not describe; the engine cannot feed it.");
            }
        }
    }

    private static string Show(int[] dims) =>
        "[" + string.Join(",", dims.Select(d => d < 0 ? "?" : d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>
    /// True when the decoder uses ORT's GroupQueryAttention, whose kernels (CPU and CUDA) accept one buffer bound
    /// as both past and present. Op types are stored as plain UTF-8 in the protobuf, so a byte search suffices;
    /// weights normally live in external data, keeping the file small.
    /// </summary>
    public static bool UsesGroupQueryAttention(string decoderPath)
    {
        ReadOnlySpan<byte> needle = "GroupQueryAttention"u8;
        byte[] buffer = new byte[1 << 20];
        using FileStream fs = File.OpenRead(decoderPath);
        int carried = 0;
        while (true)
        {
            int read = fs.Read(buffer, carried, buffer.Length - carried);
            if (read == 0)
            {
                return false;
            }

            int total = carried + read;
            if (buffer.AsSpan(0, total).IndexOf(needle) >= 0)
            {
                return true;
            }

            carried = Math.Min(needle.Length - 1, total);
            Buffer.BlockCopy(buffer, total - carried, buffer, 0, carried);
        }
    }
}
