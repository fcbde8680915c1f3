using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Magma.Inference.Text;

/// <summary>
/// Magma-8B's tokenizer: LLaMA-3 byte-level BPE plus Magma's added tokens, read from a Hugging Face
/// <c>tokenizer.json</c> and <c>tokenizer_config.json</c>. Encoding equals HF <c>tokenizers</c>
/// (<c>Tokenizer.from_file(...).encode(text).ids</c>) with <c>encode_special_tokens</c> on: text is always plain text,
/// and added tokens such as <c>&lt;image&gt;</c> or <c>&lt;|eot_id|&gt;</c> written in it are tokenized as characters, so
/// only <see cref="ChatTemplate.Encode"/> and the image placeholders it is given produce special ids.
/// <see cref="EncodeParsingSpecialTokens"/> is HF's default (added tokens matched in the text) for text the caller wrote. Thread-safe.
/// </summary>
/// <remarks>
/// The BPE itself is Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/>: LLaMA-3's vocabulary is a tiktoken
/// vocabulary written in GPT-2's byte-to-character alphabet, so <see cref="Load"/> turns <c>model.vocab</c> back into
/// a tiktoken rank table (token bytes, rank = id) in memory. tiktoken ranks a merge by the id of the token it makes
/// rather than by <c>model.merges</c>; LLaMA-3's merges were derived from those ranks, and the ids equal HF's on the
/// parity goldens, so the merge list is only validated. Three parts stay ours: the pre-tokenizer, because
/// ML.Tokenizers splits with .NET <c>Regex</c>, which works on UTF-16 units and therefore does not see an astral letter
/// (e.g. U+1D400) as <c>\p{L}</c> where HF's Oniguruma does, so some texts would split and encode differently;
/// added-token matching, which follows HF's leftmost-longest rule; and decoding, which reproduces HF's byte-level
/// decoder (added tokens as their UTF-8 text, invalid UTF-8 as U+FFFD, unknown ids ignored) and backs
/// <see cref="StreamingDecoder"/>.
/// </remarks>
public sealed class MagmaTokenizer
{
    private readonly TiktokenTokenizer _bpe;
    private readonly AddedTokenMatcher _added;
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _addedIds;
    private readonly string?[] _idToToken;
    private readonly bool[] _special;
    private readonly byte[] _tokenBytes;
    private readonly int[] _tokenByteOffsets;
    private readonly string _path;

    private MagmaTokenizer(
        TiktokenTokenizer bpe,
        Dictionary<string, int> vocab,
        Dictionary<string, int> addedIds,
        string?[] idToToken,
        bool[] special,
        int bos,
        int eos,
        int pad,
        int image,
        bool cleanUp,
        string path)
    {
        _path = path;
        _bpe = bpe;
        _vocab = vocab;
        _addedIds = addedIds;
        _added = new AddedTokenMatcher(addedIds.Select(kv => (kv.Key, kv.Value)));
        _idToToken = idToToken;
        _special = special;
        BeginOfTextId = bos;
        EndOfTurnId = eos;
        PadId = pad;
        ImageTokenId = image;
        CleanUpTokenizationSpaces = cleanUp;

        // Flat byte table for decoding: one contiguous array instead of an array per token.
        _tokenByteOffsets = new int[idToToken.Length + 1];
        var bytes = new List<byte>(idToToken.Length * 7);
        int maxLength = 0;
        for (int id = 0; id < idToToken.Length; id++)
        {
            _tokenByteOffsets[id] = bytes.Count;
            if (idToToken[id] is { } token)
            {
                byte[] b = ByteLevelAlphabet.TokenTextToBytes(token);
                bytes.AddRange(b);
                maxLength = Math.Max(maxLength, b.Length);
            }
        }

        _tokenByteOffsets[idToToken.Length] = bytes.Count;
        _tokenBytes = bytes.ToArray();
        MaxTokenByteLength = maxLength;
    }

    /// <summary>Id of <c>&lt;|begin_of_text|&gt;</c> (the config's <c>bos_token</c>), 128000 for Magma-8B.</summary>
    public int BeginOfTextId { get; }

    /// <summary>Id of the end-of-turn / stop token (the config's <c>eos_token</c>, <c>&lt;|eot_id|&gt;</c> = 128009).</summary>
    public int EndOfTurnId { get; }

    /// <summary>Id of the padding token (the config's <c>pad_token</c>, <c>&lt;pad&gt;</c> = 128256).</summary>
    public int PadId { get; }

    /// <summary>Id of the image placeholder token <c>&lt;image&gt;</c> (128257 for Magma-8B).</summary>
    public int ImageTokenId { get; }

    /// <summary>
    /// Size of the BPE vocabulary without added or special tokens (HF <c>tokenizer.vocab_size</c>, 128000). Magma's
    /// robot action tokens are the last 256 ids below this value.
    /// </summary>
    public int BaseVocabularySize => _vocab.Count;

    /// <summary>Number of ids including added tokens (HF <c>len(tokenizer)</c>; 128263 for Magma-8B).</summary>
    public int VocabularySize => _idToToken.Length;

    /// <summary>The config's <c>clean_up_tokenization_spaces</c>, applied only by <see cref="DecodeAsTransformers"/>.</summary>
    public bool CleanUpTokenizationSpaces { get; }

    /// <summary>Longest byte sequence any single token decodes to.</summary>
    internal int MaxTokenByteLength { get; }

    /// <summary>
    /// Loads <c>tokenizer.json</c> and <c>tokenizer_config.json</c> from <paramref name="directory"/>.
    /// </summary>
    /// <exception cref="MagmaPackageException">A file is missing or a field is missing or malformed; the message names both.</exception>
    public static MagmaTokenizer Load(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string tokenizerPath = Path.Combine(directory, TokenizerFiles.TokenizerJson);
        string configPath = Path.Combine(directory, TokenizerFiles.TokenizerConfigJson);

        TiktokenTokenizer bpe;
        Dictionary<string, int> vocab;
        var addedIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var specialIds = new HashSet<int>();
        string?[] idToToken;
        using (var doc = TokenizerFiles.Open(tokenizerPath))
        {
            var root = doc.RootElement;
            var model = RequireLlama3Model(root, tokenizerPath);
            vocab = ReadVocab(model, tokenizerPath, out int maxVocabId);
            CheckMerges(model, vocab, tokenizerPath);
            int maxAddedId = ReadAddedTokens(root, tokenizerPath, addedIds, specialIds);
            idToToken = IdToToken(Math.Max(maxVocabId, maxAddedId), vocab, addedIds);
            CheckByteTokens(vocab, tokenizerPath);
            bpe = CreateTiktoken(vocab, tokenizerPath);
        }

        var specialFlags = new bool[idToToken.Length];
        foreach (int id in specialIds)
        {
            specialFlags[id] = true;
        }

        var (bos, eos, pad, cleanUp) = ReadConfig(configPath, addedIds);
        if (!addedIds.TryGetValue("<image>", out int image))
        {
            throw TokenizerFiles.Field(tokenizerPath, "added_tokens", "has no '<image>' token; Magma needs it as the image placeholder");
        }

        return new MagmaTokenizer(bpe, vocab, addedIds, idToToken, specialFlags, bos, eos, pad, image, cleanUp, tokenizerPath);
    }

    /// <summary>Returns <c>model</c> after checking it is LLaMA-3's BPE (type, ignore_merges, pre-tokenizer).</summary>
    private static JsonElement RequireLlama3Model(JsonElement root, string path)
    {
        var model = TokenizerFiles.Require(root, "model", JsonValueKind.Object, path, "model");
        var type = TokenizerFiles.Require(model, "type", JsonValueKind.String, path, "model.type");
        if (type.GetString() != "BPE")
        {
            throw TokenizerFiles.Field(path, "model.type", $"is '{type.GetString()}', but only the LLaMA-3 'BPE' model is supported");
        }

        if (!model.TryGetProperty("ignore_merges", out var ignoreMerges) || ignoreMerges.ValueKind != JsonValueKind.True)
        {
            throw TokenizerFiles.Field(path, "model.ignore_merges", "must be true (the LLaMA-3 tokenizer); other BPE tokenizers are not supported");
        }

        CheckPreTokenizer(root, path);
        return model;
    }

    private static Dictionary<string, int> ReadVocab(JsonElement model, string path, out int maxId)
    {
        var vocabJson = TokenizerFiles.Require(model, "vocab", JsonValueKind.Object, path, "model.vocab");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        maxId = -1;
        foreach (var entry in vocabJson.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw TokenizerFiles.Field(path, $"model.vocab[\"{entry.Name}\"]", "is not a non-negative integer id");
            }

            vocab[entry.Name] = id;
            maxId = Math.Max(maxId, id);
        }

        return vocab;
    }

    private static void CheckMerges(JsonElement model, Dictionary<string, int> vocab, string path)
    {
        var mergesJson = TokenizerFiles.Require(model, "merges", JsonValueKind.Array, path, "model.merges");
        int index = 0;
        foreach (var merge in mergesJson.EnumerateArray())
        {
            // tiktoken ranks merges by the merged token's id, so the list is only checked, not used.
            CheckMerge(merge, vocab, path, index++);
        }
    }

    /// <summary>Fills <paramref name="addedIds"/> and <paramref name="specialIds"/>; returns the largest added id, or -1.</summary>
    private static int ReadAddedTokens(JsonElement root, string path, Dictionary<string, int> addedIds, HashSet<int> specialIds)
    {
        var addedJson = TokenizerFiles.Require(root, "added_tokens", JsonValueKind.Array, path, "added_tokens");
        int maxId = -1;
        int index = 0;
        foreach (var token in addedJson.EnumerateArray())
        {
            string field = $"added_tokens[{index++}]";
            var content = TokenizerFiles.Require(token, "content", JsonValueKind.String, path, field + ".content").GetString()!;
            var idJson = TokenizerFiles.Require(token, "id", JsonValueKind.Number, path, field + ".id");
            if (!idJson.TryGetInt32(out int id) || id < 0 || content.Length == 0)
            {
                throw TokenizerFiles.Field(path, field, "has an invalid id or empty content");
            }

            addedIds[content] = id;
            if (token.TryGetProperty("special", out var special) && special.ValueKind == JsonValueKind.True)
            {
                specialIds.Add(id);
            }

            maxId = Math.Max(maxId, id);
        }

        return maxId;
    }

    private static string?[] IdToToken(int maxId, Dictionary<string, int> vocab, Dictionary<string, int> addedIds)
    {
        var idToToken = new string?[maxId + 1];
        foreach (var (token, id) in vocab)
        {
            idToToken[id] = token;
        }

        foreach (var (token, id) in addedIds)
        {
            idToToken[id] = token;
        }

        return idToToken;
    }

    private static void CheckByteTokens(Dictionary<string, int> vocab, string path)
    {
        for (int b = 0; b < 256; b++)
        {
            if (!vocab.ContainsKey(ByteLevelAlphabet.ByteToChar[b].ToString()))
            {
                throw TokenizerFiles.Field(path, "model.vocab", "lacks some of the 256 single-byte tokens a byte-level BPE needs");
            }
        }
    }

    private static (int Bos, int Eos, int Pad, bool CleanUp) ReadConfig(string path, Dictionary<string, int> addedIds)
    {
        using var config = TokenizerFiles.Open(path);
        var root = config.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw TokenizerFiles.Field(path, "(root)", "is not a JSON object");
        }

        int bos = ResolveConfigToken(root, "bos_token", path, addedIds);
        int eos = ResolveConfigToken(root, "eos_token", path, addedIds);
        int pad = ResolveConfigToken(root, "pad_token", path, addedIds);
        bool cleanUp = root.TryGetProperty("clean_up_tokenization_spaces", out var c) && c.ValueKind == JsonValueKind.True;
        return (bos, eos, pad, cleanUp);
    }

    private static void CheckPreTokenizer(JsonElement root, string path)
    {
        // The regex is hand-implemented, so refuse a file whose pre-tokenizer is something else.
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
        {
            var list = pre.TryGetProperty("pretokenizers", out var items) && items.ValueKind == JsonValueKind.Array
                ? items.EnumerateArray().ToList()
                : [pre];
            foreach (var item in list)
            {
                if (item.ValueKind == JsonValueKind.Object
                    && item.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
                    && pattern.TryGetProperty("Regex", out var regex) && regex.GetString() == TokenizerFiles.Llama3Regex)
                {
                    return;
                }
            }
        }

        throw TokenizerFiles.Field(path, "pre_tokenizer", "is not the LLaMA-3 Split regex followed by ByteLevel; only the LLaMA-3 tokenizer is supported");
    }

    private static TiktokenTokenizer CreateTiktoken(Dictionary<string, int> vocab, string path)
    {
        // The rank file format TiktokenTokenizer reads: "<base64 of the token's bytes> <rank>" per line.
        using var ranks = new MemoryStream(vocab.Count * 16);
        using (var writer = new StreamWriter(ranks, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
        {
            var bytes = new byte[64];
            foreach (var (token, id) in vocab)
            {
                if (bytes.Length < token.Length)
                {
                    bytes = new byte[token.Length * 2];
                }

                for (int i = 0; i < token.Length; i++)
                {
                    char c = token[i];
                    int b = c < ByteLevelAlphabet.CharToByte.Length ? ByteLevelAlphabet.CharToByte[c] : -1;
                    if (b < 0)
                    {
                        throw TokenizerFiles.Field(path, $"model.vocab[\"{token}\"]", "has a character outside the byte-level alphabet; only byte-level BPE vocabularies are supported");
                    }

                    bytes[i] = (byte)b;
                }

                writer.Write(Convert.ToBase64String(bytes, 0, token.Length));
                writer.Write(' ');
                writer.Write(id);
                writer.Write('\n');
            }
        }

        ranks.Position = 0;
        try
        {
            // No special tokens: the BPE sees only plain text, so it cannot turn special-token text into ids; added tokens
            // are matched by AddedTokenMatcher for the one caller that asks for it (EncodeParsingSpecialTokens).
            return TiktokenTokenizer.Create(ranks, new Llama3PreTokenizerAdapter(), normalizer: null, specialTokens: null);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new MagmaPackageException($"Tokenizer file '{path}': field 'model.vocab' could not be loaded as a tiktoken vocabulary ({ex.Message}).", ex);
        }
    }

    private static void CheckMerge(JsonElement merge, Dictionary<string, int> vocab, string path, int index)
    {
        string? left = null, right = null;
        if (merge.ValueKind == JsonValueKind.String)
        {
            string s = merge.GetString()!;
            int space = s.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && space < s.Length - 1)
            {
                left = s[..space];
                right = s[(space + 1)..];
            }
        }
        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2)
        {
            left = merge[0].GetString();
            right = merge[1].GetString();
        }

        if (left is null || right is null || !vocab.ContainsKey(left) || !vocab.ContainsKey(right))
        {
            throw TokenizerFiles.Field(path, $"model.merges[{index}]", "is not a pair of vocabulary tokens");
        }
    }

    private static int ResolveConfigToken(JsonElement root, string name, string path, Dictionary<string, int> addedIds)
    {
        string token = TokenizerFiles.RequireTokenString(root, name, path);
        return addedIds.TryGetValue(token, out int id)
            ? id
            : throw TokenizerFiles.Field(path, name, $"names '{token}', which is not an added token of tokenizer.json");
    }

    /// <summary>
    /// Encodes <paramref name="text"/> as plain text: special-token text such as <c>&lt;image&gt;</c> or
    /// <c>&lt;|eot_id|&gt;</c> is tokenized by the BPE like any other characters (HF's <c>split_special_tokens=True</c>),
    /// so no text can forge a turn or an image placeholder. With <paramref name="addBeginOfText"/> the ids start with
    /// <see cref="BeginOfTextId"/>. Prompts are built with <see cref="ChatTemplate.Encode"/>, which adds the template's
    /// and the images' special tokens itself.
    /// </summary>
    public IReadOnlyList<int> Encode(string text, bool addBeginOfText = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        Encode(text.AsSpan(), ids, addBeginOfText);
        return ids;
    }

    /// <summary>
    /// Appends the plain-text ids of <paramref name="text"/> (see <see cref="Encode(string, bool)"/>) to
    /// <paramref name="destination"/> without other allocations; reuse the list across calls.
    /// </summary>
    public void Encode(ReadOnlySpan<char> text, List<int> destination, bool addBeginOfText = true)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (addBeginOfText)
        {
            destination.Add(BeginOfTextId);
        }

        if (!text.IsEmpty)
        {
            EncodeSegment(text, destination);
        }
    }

    /// <summary>
    /// Encodes <paramref name="text"/> as HF <c>tokenizers</c> does by default: added tokens written in the text
    /// (<c>&lt;image&gt;</c>, <c>&lt;|eot_id|&gt;</c>, ...) become their ids, matched leftmost-longest before BPE. Only for
    /// text that your own code wrote in full (e.g. a rendered template to compare with HF); text from a user, a page or
    /// a tool can forge turns and placeholders this way: encode it with <see cref="Encode(string, bool)"/>.
    /// </summary>
    public IReadOnlyList<int> EncodeParsingSpecialTokens(string text, bool addBeginOfText = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        ReadOnlySpan<char> rest = text;
        if (addBeginOfText)
        {
            ids.Add(BeginOfTextId);
        }

        while (!rest.IsEmpty)
        {
            if (!_added.TryFind(rest, out int index, out int length, out int id))
            {
                EncodeSegment(rest, ids);
                break;
            }

            if (index > 0)
            {
                EncodeSegment(rest[..index], ids);
            }

            ids.Add(id);
            rest = rest[(index + length)..];
        }

        return ids;
    }

    /// <summary>The id of an added token (<c>&lt;|eot_id|&gt;</c>, <c>&lt;image_start&gt;</c>, ...); the message names the file when it is missing.</summary>
    internal int RequireAddedToken(string content) =>
        _addedIds.TryGetValue(content, out int id)
            ? id
            : throw new MagmaPackageException($"Tokenizer file '{_path}': field 'added_tokens' has no '{content}' token, which the LLaMA-3 chat template and Magma's image placeholders need; use the checkpoint's own tokenizer.json.");

    private void EncodeSegment(ReadOnlySpan<char> segment, List<int> destination)
    {
        // TiktokenTokenizer turns a lone surrogate into its WTF-8 bytes (ED A0 80); Encoding.UTF8, which this
        // tokenizer has always used, turns it into U+FFFD. Only text with a lone surrogate pays for the copy.
        int firstLone = IndexOfLoneSurrogate(segment);
        if (firstLone < 0)
        {
            // One call per added-token-free segment; Llama3PreTokenizerAdapter cuts it into pieces.
            destination.AddRange(_bpe.EncodeToIds(segment, considerPreTokenization: true, considerNormalization: false));
            return;
        }

        char[] rented = ArrayPool<char>.Shared.Rent(segment.Length);
        try
        {
            var copy = rented.AsSpan(0, segment.Length);
            segment.CopyTo(copy);
            for (int i = firstLone; i < copy.Length; i++)
            {
                if (char.IsHighSurrogate(copy[i]) && i + 1 < copy.Length && char.IsLowSurrogate(copy[i + 1]))
                {
                    i++;
                }
                else if (char.IsSurrogate(copy[i]))
                {
                    copy[i] = '\uFFFD';
                }
            }

            destination.AddRange(_bpe.EncodeToIds(copy, considerPreTokenization: true, considerNormalization: false));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private static int IndexOfLoneSurrogate(ReadOnlySpan<char> text)
    {
        int i = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        while (i >= 0)
        {
            if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
            {
                return i;
            }

            i += 2;
            int next = text[i..].IndexOfAnyInRange('\uD800', '\uDFFF');
            i = next < 0 ? -1 : i + next;
        }

        return -1;
    }

    /// <summary>
    /// Decodes ids to text as HF <c>tokenizers</c> <c>decode</c> does (invalid UTF-8 becomes U+FFFD; ids outside the
    /// vocabulary are ignored). With <paramref name="skipSpecialTokens"/> special added tokens are left out.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        int total = 0;
        foreach (int id in ids)
        {
            if (Keep(id, skipSpecialTokens))
            {
                total += _tokenByteOffsets[id + 1] - _tokenByteOffsets[id];
            }
        }

        if (total == 0)
        {
            return string.Empty;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            int n = 0;
            foreach (int id in ids)
            {
                if (Keep(id, skipSpecialTokens))
                {
                    n += CopyTokenBytes(id, buffer.AsSpan(n));
                }
            }

            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Decodes like transformers' <c>tokenizer.decode</c>: <see cref="Decode"/> followed, when the config's
    /// <c>clean_up_tokenization_spaces</c> is true, by its clean-up (" ." to ".", " n't" to "n't", ...).
    /// </summary>
    public string DecodeAsTransformers(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        string text = Decode(ids, skipSpecialTokens);
        return CleanUpTokenizationSpaces ? CleanUpTokenization(text) : text;
    }

    /// <summary>transformers' <c>clean_up_tokenization</c>, replacement for replacement.</summary>
    public static string CleanUpTokenization(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace(" .", ".", StringComparison.Ordinal)
            .Replace(" ?", "?", StringComparison.Ordinal)
            .Replace(" !", "!", StringComparison.Ordinal)
            .Replace(" ,", ",", StringComparison.Ordinal)
            .Replace(" ' ", "'", StringComparison.Ordinal)
            .Replace(" n't", "n't", StringComparison.Ordinal)
            .Replace(" 'm", "'m", StringComparison.Ordinal)
            .Replace(" 's", "'s", StringComparison.Ordinal)
            .Replace(" 've", "'ve", StringComparison.Ordinal)
            .Replace(" 're", "'re", StringComparison.Ordinal);
    }

    /// <summary>Creates a decoder that turns ids into text one at a time without splitting UTF-8 characters.</summary>
    public StreamingDecoder CreateStreamingDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    /// <summary>Id of a token given in its tokenizer.json form (e.g. "Ġthe" or "&lt;image&gt;"), or null.</summary>
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (_addedIds.TryGetValue(token, out int id))
        {
            return id;
        }

        int? vocabId = _vocab.TryGetValue(token, out id) ? id : null;
        return vocabId;
    }

    /// <summary>The token string of an id in its tokenizer.json form (HF <c>id_to_token</c>), or null.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    /// <summary>True for added tokens flagged <c>special</c> (all LLaMA-3 and Magma added tokens).</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)_special.Length && _special[id];

    internal bool Keep(int id, bool skipSpecialTokens) =>
        (uint)id < (uint)_idToToken.Length && _idToToken[id] is not null && !(skipSpecialTokens && _special[id]);

    internal int CopyTokenBytes(int id, Span<byte> destination)
    {
        var bytes = _tokenBytes.AsSpan(_tokenByteOffsets[id], _tokenByteOffsets[id + 1] - _tokenByteOffsets[id]);
        bytes.CopyTo(destination);
        return bytes.Length;
    }
}
