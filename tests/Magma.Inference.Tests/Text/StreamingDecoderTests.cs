using Magma.Inference.Text;
using Xunit;

namespace Magma.Inference.Tests.Text;

public sealed class StreamingDecoderTests
{
    private static MagmaTokenizer Tok => TokenizerFixture.Tokenizer;

    [Theory]
    [InlineData("🦙 llamas 🦙🦙 and Ꙋ, 中文分词, 👩‍👩‍👧‍👦 ok")]
    [InlineData("𝐀𝐁𝐂 math and 🇫🇷 flags")]
    [InlineData("plain ascii only")]
    public void Deltas_never_split_a_character_and_concatenate_to_the_full_decode(string text)
    {
        int[] ids = [.. Tok.Encode(text, addBeginOfText: false)];
        Assert.Contains(ids, id => Tok.Decode([id]).Contains('\uFFFD', StringComparison.Ordinal) || text == "plain ascii only");

        var decoder = Tok.CreateStreamingDecoder();
        var all = new System.Text.StringBuilder();
        foreach (int id in ids)
        {
            string delta = decoder.Append(id);
            Assert.DoesNotContain('\uFFFD', delta);
            all.Append(delta);
        }

        all.Append(decoder.Flush());
        Assert.Equal(text, all.ToString());
        Assert.Equal(Tok.Decode(ids, skipSpecialTokens: true), all.ToString());
    }

    [Fact]
    public void Span_append_matches_string_append_and_skips_special_tokens()
    {
        int[] ids = [128000, .. Tok.Encode("🦙 ok 中文", addBeginOfText: false), 128009];
        var byString = Tok.CreateStreamingDecoder();
        var bySpan = Tok.CreateStreamingDecoder();
        Span<char> buffer = stackalloc char[bySpan.MaxCharsPerAppend];
        string a = "", b = "";
        foreach (int id in ids)
        {
            a += byString.Append(id);
            b += new string(buffer[..bySpan.Append(id, buffer)]);
        }

        Assert.Equal("🦙 ok 中文", a + byString.Flush());
        Assert.Equal(a, b);
    }

    [Fact]
    public void Keeping_special_tokens_matches_decode_without_skipping()
    {
        int[] ids = [128000, .. Tok.Encode("Hi 🦙", addBeginOfText: false), 128009];
        var decoder = Tok.CreateStreamingDecoder(skipSpecialTokens: false);
        string text = string.Concat(ids.Select(decoder.Append)) + decoder.Flush();
        Assert.Equal("<|begin_of_text|>Hi 🦙<|eot_id|>", text);
    }

    [Fact]
    public void Invalid_and_truncated_utf8_decode_like_the_one_shot_decode()
    {
        // Byte tokens: 0xF0 0x9F (a truncated 4-byte lead), 'a', 0x80 (stray continuation), then an unfinished 0xE4.
        int[] ids = [ByteId(0xF0), ByteId(0x9F), ByteId((byte)'a'), ByteId(0x80), ByteId(0xE4)];
        var decoder = Tok.CreateStreamingDecoder();
        var deltas = ids.Select(decoder.Append).ToList();
        Assert.Equal(string.Empty, deltas[^1]); // the unfinished 0xE4 is held back
        string streamed = string.Concat(deltas) + decoder.Flush();
        Assert.Equal(Tok.Decode(ids), streamed);
        Assert.EndsWith("\uFFFD", streamed, StringComparison.Ordinal);
    }

    private static int ByteId(byte b) => Tok.TokenToId(ByteLevelAlphabet.ByteToChar[b].ToString())!.Value;
}
