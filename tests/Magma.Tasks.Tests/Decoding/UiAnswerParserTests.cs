using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class UiAnswerParserTests
{
    [Fact]
    public void Point_with_mark()
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers("Coordinate: (0.04, 0.12). Mark: 12");
        Assert.True(r.IsSuccess, r.FailureReason);
        UiAnswer a = Assert.Single(r.Value.Answers);
        Assert.Equal(UiAnswerKind.Point, a.Kind);
        Assert.Equal(new NormalizedPoint(0.04, 0.12), a.Point);
        Assert.Equal(12, a.Mark);
        Assert.Null(a.Box);
    }

    [Fact]
    public void Box_with_mark()
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers("Coordinate: (0.27, 0.29, 0.37, 0.30). Mark: 2");
        Assert.True(r.IsSuccess, r.FailureReason);
        UiAnswer a = Assert.Single(r.Value.Answers);
        Assert.Equal(UiAnswerKind.Box, a.Kind);
        Assert.Equal(new NormalizedBox(0.27, 0.29, 0.37, 0.30), a.Box);
        Assert.Equal(0.32, a.Point!.Value.X, 12);
        Assert.Equal(0.295, a.Point!.Value.Y, 12);
        Assert.Equal(2, a.Mark);
    }

    [Fact]
    public void Text_with_mark_and_trailing_period()
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers("Text: News. Mark: 1.");
        Assert.True(r.IsSuccess, r.FailureReason);
        UiAnswer a = Assert.Single(r.Value.Answers);
        Assert.Equal(UiAnswerKind.Text, a.Kind);
        Assert.Equal("News", a.Text);
        Assert.Equal(1, a.Mark);
    }

    [Fact]
    public void Multiple_answers_concatenated()
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers("Coordinate: (0.17, 0.43). Mark: 3. Coordinate: (0.31, 0.43). Mark: 4.");
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(2, r.Value.Answers.Count);
        Assert.Equal(3, r.Value.Answers[0].Mark);
        Assert.Equal(new NormalizedPoint(0.17, 0.43), r.Value.Answers[0].Point);
        Assert.Equal(4, r.Value.Answers[1].Mark);
        Assert.Equal(new NormalizedPoint(0.31, 0.43), r.Value.Answers[1].Point);
    }

    [Fact]
    public void No_input_areas()
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers("No input areas found.");
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.True(r.Value.NoInputAreas);
        Assert.Empty(r.Value.Answers);
    }

    [Fact]
    public void Helper_form_without_spaces()
    {
        DecodeResult<UiAnswerSet> point = UiAnswerParser.ParseAnswers("(0.54,0.88)");
        Assert.True(point.IsSuccess, point.FailureReason);
        Assert.Equal(new NormalizedPoint(0.54, 0.88), Assert.Single(point.Value.Answers).Point);

        DecodeResult<UiAnswerSet> box = UiAnswerParser.ParseAnswers("(0.10,0.20,0.30,0.40)");
        Assert.True(box.IsSuccess, box.FailureReason);
        Assert.Equal(new NormalizedBox(0.1, 0.2, 0.3, 0.4), Assert.Single(box.Value.Answers).Box);
    }

    [Fact]
    public void Mark_zero_is_valid()
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers("Mark: 0");
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(0, Assert.Single(r.Value.Answers).Mark);
    }

    [Theory]
    [InlineData("", "no answer found")]
    [InlineData("   ", "no answer found")]
    [InlineData("Coordinate: (1.5, -0.2)", "coordinate 1.5 is outside [0, 1]")]
    [InlineData("Coordinate: (0.5, -0.2)", "coordinate -0.2 is outside [0, 1]")]
    [InlineData("Coordinate: (0.5, 0.2, 0.1, 0.3)", "corners out of order")]
    [InlineData("Coordinate: (0.5)", "has 1 numbers; expected 2 or 4")]
    [InlineData("Coordinate: (0.5, 0.2, 0.3)", "has 3 numbers")]
    [InlineData("Coordinate: (0.5, 0.2", "expected ',' or ')'")]
    [InlineData("Coordinate: 0.5, 0.2", "expected '('")]
    [InlineData("Coordinate: (NaN, 0.2)", "expected a number")]
    [InlineData("Coordinate: (Infinity, 0.2)", "expected a number")]
    [InlineData("Coordinate: (٠.٥, 0.2)", "expected a number")]
    [InlineData("Mark: 99999999999999999999", "out of range")]
    [InlineData("Coordinate: (0.1, 0.2). Mark: 99999999999999999999", "out of range")]
    [InlineData("Mark: ١٢", "not followed by a number")]
    [InlineData("I think it is the blue button", "unexpected text at offset 0")]
    [InlineData("No input areas found. Coordinate: (0.1, 0.2)", "also gives targets")]
    public void Malformed_pretraining_answers_are_unparseable(string text, string reason)
    {
        DecodeResult<UiAnswerSet> r = UiAnswerParser.ParseAnswers(text);
        Assert.False(r.IsSuccess);
        Assert.Contains(reason, r.FailureReason, StringComparison.Ordinal);
        Assert.Equal(text, r.RawText);
    }
}
