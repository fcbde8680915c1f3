using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

/// <summary>Hostile or runaway model output must come back as a typed unparseable result, never an exception.</summary>
public sealed class AdversarialInputTests
{
    public static TheoryData<string> HostileTexts()
    {
        var data = new TheoryData<string>
        {
            string.Empty,
            new string('7', 100_000),
            new string('9', 16_000),
            "Mark: 99999999999999999999",
            "Coordinate: (" + new string('1', 5000) + ", 0.5)",
            string.Concat(Enumerable.Repeat("(", 10_000)),
            string.Concat(Enumerable.Repeat("{", 10_000)),
            string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000),
            string.Concat(Enumerable.Repeat("[", 10_000)),
            string.Concat(Enumerable.Repeat("Mark: ", 2000)),
            string.Concat(Enumerable.Repeat("Text: ", 2000)),
            string.Concat(Enumerable.Repeat("\"Mark 1\": \"[[1,", 2000)),
            string.Concat(Enumerable.Repeat("-", 10_000)),
            string.Concat(Enumerable.Repeat("0.", 7000)),
            "NaN Infinity -Infinity 1e308 1e309",
            "{\"TAP\": {\"NORMALIZED_COORDINATE\": [1e400, 0.5]}}",
            "١٢٣ ٤٥٦ ۷۸۹ ０．５",
            "\u0000\uFFFF\uD800",
            "<box>" + string.Concat(Enumerable.Repeat("(1,", 3000)),
            "<trace_start><trace_start><trace_end>",
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public void Ui_target_parser_never_throws(string text)
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget(text, 1280, 720, new Dictionary<int, NormalizedBox>());
        AssertUnparseableOrValid(r, t => t.Point.X is >= 0 and <= 1 && t.Point.Y is >= 0 and <= 1);
    }

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public void Ui_answer_parser_never_throws(string text)
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers(text);
        AssertUnparseableOrValid(r, s => s.Answers.Count > 0 || s.NoInputAreas);
    }

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public void Mobile_and_web_parsers_never_throw(string text)
    {
        AssertUnparseableOrValid(UiAnswerParser.ParseMobileAction(text), _ => true);
        AssertUnparseableOrValid(UiAnswerParser.ParseWebAction(text), w => w.Mark >= 0);
    }

    [Theory]
    [MemberData(nameof(HostileTexts))]
    public void Trace_parsers_never_throw(string text)
    {
        AssertUnparseableOrValid(TraceParser.Parse(text, 640, 480), p => p.Traces.Count > 0);
        AssertUnparseableOrValid(TraceParser.ParseMarkLocations(text, 640, 480), m => m.Marks.Count > 0);
    }

    [Fact]
    public void Hundred_kilobytes_of_digits_is_rejected_by_length_with_bounded_raw_text()
    {
        string digits = new('7', 100_000);
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget(digits, 10, 10);
        Assert.False(r.IsSuccess);
        Assert.Contains("100000 characters", r.FailureReason, StringComparison.Ordinal);
        Assert.True(r.RawText.Length <= 4097);

        DecodeResult<TracePlan> t = TraceParser.Parse(digits, 10, 10);
        Assert.False(t.IsSuccess);
        Assert.Contains("more than the 65536 accepted", t.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Long_digit_run_inside_the_limit_is_a_too_long_number()
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget(new string('9', 16_000), 10, 10);
        Assert.False(r.IsSuccess);
        Assert.Contains("longer than 24 characters", r.FailureReason, StringComparison.Ordinal);
    }

    private static void AssertUnparseableOrValid<T>(DecodeResult<T> result, Func<T, bool> valid) where T : class
    {
        if (result.IsSuccess)
        {
            Assert.True(valid(result.Value), $"accepted an invalid value: {result.Value}");
            Assert.Null(result.FailureReason);
        }
        else
        {
            Assert.Null(result.Value);
            Assert.False(string.IsNullOrWhiteSpace(result.FailureReason));
            Assert.NotNull(result.RawText);
        }
    }
}
