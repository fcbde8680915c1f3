using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Magma.Inference.Text;
using Xunit;

namespace Magma.Inference.Tests.Text;

public sealed class EncodeTests
{
    private static MagmaTokenizer Tok => TokenizerFixture.Tokenizer;

    // Cases of llama3-tokenizer-js's own test suite (README and src/llama3-tokenizer.js), without BOS/EOS.
    public static TheoryData<string, int[]> JsPackageCases => new()
    {
        { "grabbed", [59312, 2788] },
        { " grabbed", [30418] },
        { "           grabbed", [1881, 30418] },
        { "\n", [198] },
        { " \n", [720] },
        { "\ttabs\t\t\t\tout here", [3324, 3518, 573, 14294, 1618] },
        { "ax\n####\nboo", [710, 198, 71050, 34093] },
        { "镇", [104643] },
        { "🦙", [9468, 99, 247] },
        { "🦙Ꙋ", [9468, 99, 247, 166, 247, 232] },
        { "Ꙋ🦙", [166, 247, 232, 9468, 99, 247] },
        { "This is a test sentence.", [2028, 374, 264, 1296, 11914, 13] },
        { "Hello world!", [9906, 1917, 0] },
        { "I", [40] },
        {
            "The llama (/ˈlɑːmə/; 🦙Spanish pronunciation: [ˈʎama]) (Lama glama) is a domesticated South American camelid",
            [791, 94776, 47325, 135, 230, 75, 133, 239, 135, 238, 76, 99638, 14, 26, 11410, 99, 247, 62897, 71722, 25, 510, 135, 230, 134, 236, 3105, 2526, 320, 43, 3105, 2840, 3105, 8, 374, 264, 13018, 660, 4987, 3778, 50252, 307]
        },
        // The package's special-token case, with LLaMA-3 (not 3.1) names: <|eom_id|> is plain text in LLaMA-3.
        {
            "<|start_header_id|>This text has special tokens<|eot_id|> in the middle of it.<|end_header_id|><|eot_id|>",
            [128006, 2028, 1495, 706, 3361, 11460, 128009, 304, 279, 6278, 315, 433, 13, 128007, 128009]
        },
    };

    [Theory]
    [MemberData(nameof(JsPackageCases))]
    public void Encode_matches_llama3_tokenizer_js_cases(string text, int[] expected)
    {
        Assert.Equal(expected, Tok.EncodeParsingSpecialTokens(text, addBeginOfText: false));
        if (!TokenizerFixture.HasAddedTokenText(text))
        {
            Assert.Equal(expected, Tok.Encode(text, addBeginOfText: false));
        }

        Assert.Equal(text, Tok.Decode(expected));
    }

    [Fact]
    public void Encode_adds_begin_of_text_by_default()
    {
        Assert.Equal([128000, 40], Tok.Encode("I"));
        Assert.Equal([128000], Tok.Encode(""));
        Assert.Empty(Tok.Encode("", addBeginOfText: false));
    }

    [Fact]
    public void Reserved_special_tokens_use_llama3_ids_and_lookalikes_stay_text()
    {
        // LLaMA-3 ids: reserved 0..3 are 128002..128005, 4 is 128008, n >= 5 is 128005 + n.
        Assert.Equal([128002, 128005, 128008, 128014, 128255], Tok.EncodeParsingSpecialTokens(
            "<|reserved_special_token_0|><|reserved_special_token_3|><|reserved_special_token_4|><|reserved_special_token_9|><|reserved_special_token_250|>",
            addBeginOfText: false));
        var lookalike = Tok.EncodeParsingSpecialTokens("<|reserved_special_token_251|><|reserved_special_token_09|>", addBeginOfText: false);
        Assert.DoesNotContain(lookalike, id => id >= 128000);
        Assert.Equal("<|reserved_special_token_251|><|reserved_special_token_09|>", Tok.Decode([.. lookalike]));
    }

    [Fact]
    public void Encode_matches_js_oracle_on_500_varied_strings()
    {
        // js-oracle.json: tools/tokenizer/make-js-goldens.mjs, ids from llama3-tokenizer-js (independent merge-rank BPE).
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizerFixture.Directory, "js-oracle.json")));
        int count = 0;
        var buffer = new List<int>();
        foreach (var c in doc.RootElement.EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            int[] expected = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.True(expected.SequenceEqual(Tok.EncodeParsingSpecialTokens(text, addBeginOfText: false)), $"ids differ for {JsonSerializer.Serialize(text)}");
            if (!TokenizerFixture.HasAddedTokenText(text))
            {
                // Plain-text encoding gives the same ids wherever no special-token text is written.
                buffer.Clear();
                Tok.Encode(text, buffer, addBeginOfText: false);
                Assert.True(expected.SequenceEqual(buffer), $"plain ids differ for {JsonSerializer.Serialize(text)}");
            }

            count++;
        }

        Assert.True(count >= 500, $"only {count} oracle cases");
    }

    public static TheoryData<string> RoundTripStrings => new()
    {
        "Hello, World! 你好，世界！ Привет мир! こんにちは",
        "emoji 👩‍👩‍👧‍👦🦙🇫🇷👍🏽 and ❤️",
        "astral letters 𝐀𝐁𝐂 𠀀𠀁 math 𝟙𝟚",
        "code: for (var i = 0; i < 10; i++) { Console.Write($\"{i}\\n\"); }",
        "   many    spaces \t\t tabs \u00a0nbsp \u3000 ideographic   ",
        "windows\r\nline\r\n\r\nendings\r\n",
        "\n\n\nblank lines\n\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
        "<image_start><image><image_end>\nWhat is this? <pad><action><trace_start><trace_end>",
        "lone < and > and <| and |> and <image",
        "control \u0000\u0001\u001b[31m chars \u007f \u0085 \u2028 \u2029",
        "combining e\u0301 a\u0308 ﬁ ß ẞ İ ı ς Σ",
        "numbers 1234567890 ١٢٣٤ ½ Ⅻ 3.14e-10",
        "'s 'T 'Re 'VE 'm 'LL 'd 'x ''",
        "",
    };

    [Theory]
    [MemberData(nameof(RoundTripStrings))]
    public void Decode_of_encode_is_identity(string text)
    {
        var ids = Tok.Encode(text, addBeginOfText: false);
        Assert.Equal(text, Tok.Decode([.. ids]));
    }

    [Fact]
    public void Added_tokens_are_matched_before_bpe_with_ids_read_from_the_files()
    {
        Assert.Equal(128257, Tok.ImageTokenId);
        Assert.Equal(128258, Tok.TokenToId("<image_start>"));
        Assert.Equal(128259, Tok.TokenToId("<image_end>"));
        Assert.Equal(128260, Tok.TokenToId("<action>"));
        Assert.Equal(128261, Tok.TokenToId("<trace_start>"));
        Assert.Equal(128262, Tok.TokenToId("<trace_end>"));

        // "<image>" glued to text on both sides still becomes one id; "What" keeps its normal id 3923.
        Assert.Equal([128258, 128257, 128259, 198, 3923], Tok.EncodeParsingSpecialTokens("<image_start><image><image_end>\nWhat", addBeginOfText: false));
        Assert.Equal([87, 128257, 87], Tok.EncodeParsingSpecialTokens("x<image>x", addBeginOfText: false));
        Assert.Equal([128009], Tok.EncodeParsingSpecialTokens("<|eot_id|>", addBeginOfText: false));
        var nearMiss = Tok.EncodeParsingSpecialTokens("<imag> <image >", addBeginOfText: false);
        Assert.DoesNotContain(nearMiss, id => id >= Tok.BaseVocabularySize);
    }

    [Fact]
    public void Replacement_characters_and_lone_surrogates_encode_as_the_utf8_of_U_FFFD()
    {
        // "ï¿½" is EF BF BD, the UTF-8 of U+FFFD; ML.Tokenizers alone would give a lone surrogate its WTF-8 bytes.
        int replacement = Tok.TokenToId("ï¿½")!.Value;
        Assert.Equal([replacement], Tok.Encode("\uFFFD", addBeginOfText: false));
        Assert.Equal([replacement], Tok.Encode("\uD800", addBeginOfText: false));
        Assert.Equal(Tok.Encode("a\uFFFDb\uFFFD \uFFFD<image>\uFFFD", false), Tok.Encode("a\uD800b\uDC00 \uDBFF<image>\uDFFF", false));
        Assert.Equal(Tok.Encode("x\U0001F600\uFFFD", false), Tok.Encode("x\U0001F600\uDC00", false));
    }

    [Fact]
    public void Pre_tokenizer_given_to_ml_tokenizers_treats_astral_letters_as_letters()
    {
        // HF's Oniguruma sees U+1D400 as \p{L}, so "a𝐀b c" is two pieces; .NET Regex (ML.Tokenizers' own
        // pre-tokenizer) sees two surrogates instead and cuts "a𝐀b" apart, which is why the pre-tokenizer is ours.
        const string text = "a\U0001D400b c";
        var regex = new RegexPreTokenizer(new Regex(TokenizerFiles.Llama3Regex), specialTokens: null);
        Assert.NotEqual([(0, 4), (4, 2)], regex.PreTokenize(text).ToArray());

        var ours = new Llama3PreTokenizerAdapter();
        Assert.Equal([(0, 4), (4, 2)], ours.PreTokenize(text).ToArray());
        Assert.Equal([(0, 4), (4, 2)], ours.PreTokenize(text.AsSpan()).ToArray());
        Assert.Equal([(0, 1), (1, 1)], ours.PreTokenize("x!".AsSpan()).ToArray()); // the reused buffer starts afresh
    }

    [Fact]
    public void Span_overload_appends_the_same_ids_as_the_string_overload()
    {
        const string text = "Hi <image>\nWhat's 12345 at  the\tend?<|eot_id|>";
        var list = new List<int> { -7 };
        Tok.Encode(text.AsSpan(), list, addBeginOfText: true);
        Tok.Encode(text.AsSpan(), list, addBeginOfText: false);
        var once = Tok.Encode(text, addBeginOfText: false);
        Assert.Equal([-7, Tok.BeginOfTextId, .. once, .. once], list);
    }

    [Fact]
    public void Ids_and_sizes_come_from_the_files()
    {
        Assert.Equal(128000, Tok.BeginOfTextId);
        Assert.Equal(128009, Tok.EndOfTurnId);
        Assert.Equal(128256, Tok.PadId);
        Assert.Equal(128000, Tok.BaseVocabularySize);
        Assert.Equal(128263, Tok.VocabularySize);
        Assert.Equal("Ġthe", Tok.IdToToken(279));
        Assert.Equal(279, Tok.TokenToId("Ġthe"));
        Assert.Null(Tok.TokenToId("not a token"));
        Assert.Null(Tok.IdToToken(128263));
        Assert.True(Tok.IsSpecial(128009));
        Assert.True(Tok.IsSpecial(128257));
        Assert.False(Tok.IsSpecial(279));
    }

    [Fact]
    public void Decode_can_skip_special_tokens_and_ignores_unknown_ids()
    {
        int[] ids = [128000, 9906, 1917, 0, 128009, 999_999, -1];
        Assert.Equal("<|begin_of_text|>Hello world!<|eot_id|>", Tok.Decode(ids));
        Assert.Equal("Hello world!", Tok.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void DecodeAsTransformers_applies_clean_up_when_the_config_asks()
    {
        Assert.True(Tok.CleanUpTokenizationSpaces);
        var ids = Tok.Encode("Hello , world . I do n't", addBeginOfText: false);
        Assert.Equal("Hello , world . I do n't", Tok.Decode([.. ids]));
        Assert.Equal("Hello, world. I don't", Tok.DecodeAsTransformers([.. ids]));
    }
}
