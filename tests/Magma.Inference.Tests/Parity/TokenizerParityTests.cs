using System.IO.Compression;
using System.Text.Json;
using Magma.Inference.Text;

namespace Magma.Inference.Tests.Parity;

/// <summary>
/// Token-for-token parity with Hugging Face tokenizers/transformers, through the golden file written by
/// tools/export/make_golden_preprocessing.py: every corpus string, every rendered chat prompt, every decode.
/// </summary>
public sealed class TokenizerParityTests
{
    private static readonly string AssetDir = Path.Combine(AppContext.BaseDirectory, "assets");
    private static readonly Lazy<MagmaTokenizer> Tokenizer = new(() => MagmaTokenizer.Load(Path.Combine(AssetDir, "tokenizer")));
    private static readonly Lazy<JsonDocument> Golden = new(() =>
    {
        using var stream = new GZipStream(File.OpenRead(Path.Combine(AssetDir, "golden", "tokenizer.json.gz")), CompressionMode.Decompress);
        return JsonDocument.Parse(stream);
    });

    [Fact]
    public void Corpus_has_at_least_a_thousand_strings()
    {
        Assert.True(Golden.Value.RootElement.GetProperty("strings").GetArrayLength() >= 1000);
    }

    [Fact]
    public void Every_corpus_string_encodes_to_the_reference_ids_and_round_trips()
    {
        var failures = new List<string>();
        foreach (JsonElement entry in Golden.Value.RootElement.GetProperty("strings").EnumerateArray())
        {
            string text = entry.GetProperty("text").GetString()!;
            int[] expected = Ids(entry.GetProperty("ids"));
            int[] actual = [.. Tokenizer.Value.EncodeParsingSpecialTokens(text)];
            if (!Magma.Inference.Tests.Text.TokenizerFixture.HasAddedTokenText(text))
            {
                // Without special-token text, the plain-text encoding is the reference's too.
                Assert.Equal(expected, Tokenizer.Value.Encode(text));
            }

            if (!expected.AsSpan().SequenceEqual(actual))
            {
                failures.Add($"{JsonSerializer.Serialize(text)}: expected [{string.Join(',', expected)}], got [{string.Join(',', actual)}]");
                continue;
            }

            // decode(encode(s)) == s, with the BOS the encoder added skipped as a special token.
            Assert.Equal(entry.GetProperty("decoded").GetString(), Tokenizer.Value.Decode(expected, skipSpecialTokens: false));
            Assert.Equal(entry.GetProperty("decoded_skip_special").GetString(), Tokenizer.Value.Decode(expected, skipSpecialTokens: true));
        }
        Assert.True(failures.Count == 0, $"{failures.Count} strings differ:\n{string.Join('\n', failures.Take(20))}");
    }

    [Fact]
    public void Every_chat_renders_and_tokenizes_as_the_reference()
    {
        int count = 0, encoded = 0;
        foreach (JsonElement chat in Golden.Value.RootElement.GetProperty("chats").EnumerateArray())
        {
            var messages = chat.GetProperty("messages").EnumerateArray()
                .Select(m => (Role: Enum.Parse<ChatRole>(m.GetProperty("role").GetString()!, ignoreCase: true), Content: m.GetProperty("content").GetString()!))
                .ToList();
            var turns = Magma.Inference.Tests.Text.ReferencePrompt.Turns(messages);
            bool generationPrompt = chat.GetProperty("add_generation_prompt").GetBoolean();

            string rendered = ChatTemplate.Llama3.Render(turns, generationPrompt);
            Assert.Equal(chat.GetProperty("rendered").GetString(), rendered);
            int[] expected = Ids(chat.GetProperty("ids"));
            Assert.Equal(expected, Tokenizer.Value.EncodeParsingSpecialTokens(rendered).ToArray());
            string textOnly = string.Concat(messages.Select(m => m.Content.Replace("<image_start><image><image_end>", "", StringComparison.Ordinal).Replace("<image>", "", StringComparison.Ordinal)));
            if (!Magma.Inference.Tests.Text.TokenizerFixture.HasAddedTokenText(textOnly))
            {
                // The engine's path: template and placeholders as ids, texts as plain text; the same ids.
                Assert.Equal(expected, ChatTemplate.Llama3.Encode(turns, Tokenizer.Value, generationPrompt));
                encoded++;
            }

            count++;
        }
        Assert.True(count >= 100);
        Assert.True(encoded >= 70, $"only {encoded} chats without special-token text");
    }

    [Fact]
    public void Streaming_decode_matches_reference_decodes_and_never_emits_half_a_character()
    {
        foreach (JsonElement entry in Golden.Value.RootElement.GetProperty("decodes").EnumerateArray())
        {
            int[] ids = Ids(entry.GetProperty("ids"));
            string reference = entry.GetProperty("text").GetString()!;
            Assert.Equal(reference, Tokenizer.Value.Decode(ids, skipSpecialTokens: false));

            var streaming = Tokenizer.Value.CreateStreamingDecoder(skipSpecialTokens: false);
            var text = new System.Text.StringBuilder();
            foreach (int id in ids)
            {
                string delta = streaming.Append(id);
                Assert.DoesNotContain('\uFFFD', delta);
                text.Append(delta);
            }
            // Whatever is complete is out; only an unfinished character may still be held back.
            string emitted = text.ToString();
            Assert.StartsWith(emitted, reference.Replace("\uFFFD", "", StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }

    private static int[] Ids(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetInt32())];
}
