namespace Magma.Inference.Package;

/// <summary>The parsed <c>magma.json</c> manifest of a model package (see docs/package-format.md).</summary>
public sealed class MagmaManifest
{
    /// <summary>Manifest format version; this engine reads version 1.</summary>
    public required int FormatVersion { get; init; }

    /// <summary>The checkpoint the package was exported from, for display.</summary>
    public required string ModelId { get; init; }

    /// <summary>
    /// What the model is, in the exporter's words (<c>description</c> in magma.json), e.g. that it is a tiny model trained
    /// on synthetic pages and not Magma-8B; null when the manifest has none. Apps show it where they name the model.
    /// </summary>
    public string? Description { get; init; }

    /// <summary>Element type of the graphs' float inputs and outputs: <c>float32</c> or <c>float16</c>.</summary>
    public required string DType { get; init; }

    /// <summary>The vision graph.</summary>
    public required VisionManifest Vision { get; init; }

    /// <summary>The token-embedding graph.</summary>
    public required EmbedManifest Embed { get; init; }

    /// <summary>The LLaMA decoder graph.</summary>
    public required DecoderManifest Decoder { get; init; }

    /// <summary>Special token ids.</summary>
    public required TokenManifest Tokens { get; init; }

    /// <summary>Whether prompts wrap each image as <c>&lt;image_start&gt;&lt;image&gt;&lt;image_end&gt;</c>.</summary>
    public required bool UseImageStartEnd { get; init; }

    /// <summary>
    /// How the decoder's weights are quantized (<c>quantization</c> in magma.json), or null for a float package.
    /// <see cref="DType"/> stays the type of the graphs' float inputs and outputs either way.
    /// </summary>
    public WeightQuantization? Quantization { get; init; }

    /// <summary>
    /// External-weight files the graphs read (<c>weights_files</c>, e.g. <c>vision.data</c> and <c>text.data</c>),
    /// relative to the package folder; checked to exist inside it when the package opens.
    /// </summary>
    public IReadOnlyList<string> WeightsFiles { get; init; } = [];

    /// <summary>Size in bytes of one float element of the graphs (4 for float32, 2 for float16).</summary>
    public int ElementSize => DType == "float16" ? 2 : 4;
}

/// <summary>The <c>quantization</c> section of <c>magma.json</c>: block-quantized decoder weights (MatMulNBits).</summary>
public sealed class WeightQuantization
{
    /// <summary>The operator the quantized matrices use: <c>MatMulNBits</c> (com.microsoft).</summary>
    public required string Method { get; init; }

    /// <summary>Bits per weight of the decoder layers' matrices (4).</summary>
    public required int Bits { get; init; }

    /// <summary>Weights per block along the input dimension, each block with its own scale (16 to 256, a power of two).</summary>
    public required int BlockSize { get; init; }

    /// <summary>True when blocks are symmetric (no zero points).</summary>
    public required bool Symmetric { get; init; }

    /// <summary>How the LM head is stored: <c>int4</c>, <c>int8</c> or <c>float</c>.</summary>
    public required string LmHead { get; init; }

    /// <summary>How the embedding table is stored: <c>int8</c> or <c>float</c>.</summary>
    public required string Embed { get; init; }

    /// <summary>Short form for logs, e.g. <c>int4 block 32 symmetric, LM head int8, embedding int8</c>.</summary>
    public override string ToString() =>
        $"int{Bits} block {BlockSize} {(Symmetric ? "symmetric" : "zero points")}, LM head {LmHead}, embedding {Embed}";
}

/// <summary>The <c>vision</c> section of <c>magma.json</c>.</summary>
public sealed class VisionManifest
{
    /// <summary>Graph file name inside the package.</summary>
    public required string File { get; init; }

    /// <summary>Pixel input name (float[N,3,S,S]).</summary>
    public required string Input { get; init; }

    /// <summary>Projected feature output name (float[N,g,g,H]).</summary>
    public required string FeaturesOutput { get; init; }

    /// <summary>Row separator output name (float[H]).</summary>
    public required string RowSeparatorOutput { get; init; }

    /// <summary>Crop side S in pixels.</summary>
    public required int CropSize { get; init; }

    /// <summary>Feature grid side g = S/32.</summary>
    public required int FeatureGrid { get; init; }

    /// <summary>Projected feature width H (the decoder's hidden size).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Any-resolution strategy: <c>crop</c> or <c>global</c>.</summary>
    public required string Strategy { get; init; }
}

/// <summary>The <c>embed</c> section of <c>magma.json</c>.</summary>
public sealed class EmbedManifest
{
    /// <summary>Graph file name inside the package.</summary>
    public required string File { get; init; }

    /// <summary>Token id input name (int64[B,T]).</summary>
    public required string Input { get; init; }

    /// <summary>Embedding output name (float[B,T,H]).</summary>
    public required string Output { get; init; }

    /// <summary>Embedding width H.</summary>
    public required int HiddenSize { get; init; }
}

/// <summary>The <c>decoder</c> section of <c>magma.json</c>.</summary>
public sealed class DecoderManifest
{
    /// <summary>Graph file name inside the package.</summary>
    public required string File { get; init; }

    /// <summary>Number of transformer layers (KV cache pairs).</summary>
    public required int NumLayers { get; init; }

    /// <summary>Number of query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary>Number of key/value heads.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Width of one attention head.</summary>
    public required int HeadDim { get; init; }

    /// <summary>Hidden size H.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Logits width; may exceed the tokenizer's id count.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Context limit in positions (prompt + generated).</summary>
    public required int MaxPositionEmbeddings { get; init; }

    /// <summary>Whether the graph takes a <c>position_ids</c> input.</summary>
    public required bool HasPositionIds { get; init; }

    /// <summary>
    /// Whether past and present KV tensors may share one buffer (ORT GroupQueryAttention graphs);
    /// null when the manifest does not say, in which case the engine inspects the graph.
    /// </summary>
    public bool? KvCacheSharing { get; init; }

    /// <summary>Input name of the embeddings.</summary>
    public required string InputsEmbeds { get; init; }

    /// <summary>Input name of the attention mask.</summary>
    public required string AttentionMask { get; init; }

    /// <summary>Input name of the position ids (used only when <see cref="HasPositionIds"/>).</summary>
    public required string PositionIds { get; init; }

    /// <summary>Output name of the logits.</summary>
    public required string Logits { get; init; }

    /// <summary>
    /// Output name of the greedy choice, argmax(logits + token bias) as int64 [B,1]; null when the graph has none (then
    /// tokens are chosen on the host from the logits).
    /// </summary>
    public string? NextToken { get; init; }

    /// <summary>Name of the optional [V] bias added to the logits before <see cref="NextToken"/> (0 keeps, -inf forbids).</summary>
    public string? TokenBias { get; init; }

    /// <summary>Past key input name pattern; <c>{0}</c> is the layer index.</summary>
    public required string PastKey { get; init; }

    /// <summary>Past value input name pattern; <c>{0}</c> is the layer index.</summary>
    public required string PastValue { get; init; }

    /// <summary>Present key output name pattern; <c>{0}</c> is the layer index.</summary>
    public required string PresentKey { get; init; }

    /// <summary>Present value output name pattern; <c>{0}</c> is the layer index.</summary>
    public required string PresentValue { get; init; }

    internal string PastKeyName(int layer) => Format(PastKey, layer);
    internal string PastValueName(int layer) => Format(PastValue, layer);
    internal string PresentKeyName(int layer) => Format(PresentKey, layer);
    internal string PresentValueName(int layer) => Format(PresentValue, layer);

    private static string Format(string pattern, int layer) =>
        pattern.Replace("{0}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
}

/// <summary>The <c>tokens</c> section of <c>magma.json</c>.</summary>
public sealed class TokenManifest
{
    /// <summary>Beginning-of-text id (128000).</summary>
    public required int Bos { get; init; }

    /// <summary>Stop ids (128009 for Magma-8B).</summary>
    public required IReadOnlyList<int> Eos { get; init; }

    /// <summary>Padding id (128256).</summary>
    public required int Pad { get; init; }

    /// <summary>The <c>&lt;image&gt;</c> placeholder id (128257).</summary>
    public required int Image { get; init; }

    /// <summary>The tokenizer's base vocabulary size (128000); the last 256 base ids are action tokens.</summary>
    public required int BaseVocabSize { get; init; }
}
