using Magma.Inference;
using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class UiTargetTests
{
    private static readonly Dictionary<int, NormalizedBox> Marks = new()
    {
        [0] = new NormalizedBox(0.0, 0.0, 0.1, 0.1),
        [12] = new NormalizedBox(0.2, 0.4, 0.4, 0.6),
    };

    [Fact]
    public void Mark_in_map_wins_and_uses_box_centre()
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget("Coordinate: (0.04, 0.12). Mark: 12", 1280, 720, Marks);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(UiTargetRule.MarkLookup, r.Value.Rule);
        Assert.Equal(12, r.Value.MarkId);
        Assert.Equal(0.3, r.Value.Point.X, 12);
        Assert.Equal(0.5, r.Value.Point.Y, 12);
        Assert.Equal(Marks[12], r.Value.Box);
        Assert.Equal(384.0, r.Value.Pixel.X, 9);
        Assert.Equal(360.0, r.Value.Pixel.Y, 9);
    }

    [Fact]
    public void Mark_zero_is_looked_up()
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget("Mark: 0", 100, 100, Marks);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(0, r.Value.MarkId);
        Assert.Equal(new PixelPoint(5, 5), r.Value.Pixel);
    }

    [Fact]
    public void Unknown_mark_falls_back_to_the_coordinate_tuple()
    {
        // The demo would see three numbers here and give up; the tuple is what the model meant.
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget("Coordinate: (0.04, 0.12). Mark: 7", 1000, 500, Marks);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(UiTargetRule.CoordinateTuple, r.Value.Rule);
        Assert.Equal(7, r.Value.MarkId);
        Assert.Equal(new NormalizedPoint(0.04, 0.12), r.Value.Point);
        Assert.Equal(40.0, r.Value.Pixel.X, 9);
        Assert.Equal(60.0, r.Value.Pixel.Y, 9);
    }

    [Fact]
    public void Box_tuple_gives_centre()
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget("Coordinate: (0.27, 0.29, 0.37, 0.30). Mark: 2", 1000, 1000);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(UiTargetRule.CoordinateTuple, r.Value.Rule);
        Assert.Equal(new NormalizedBox(0.27, 0.29, 0.37, 0.30), r.Value.Box);
        Assert.Equal(320.0, r.Value.Pixel.X, 9);
        Assert.Equal(295.0, r.Value.Pixel.Y, 9);
    }

    [Fact]
    public void Qwen_box_on_thousand_grid()
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget("Click <box>(100,200),(300,400)</box> please", 1280, 720);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(UiTargetRule.QwenBox, r.Value.Rule);
        Assert.Equal(0.2, r.Value.Point.X, 12);
        Assert.Equal(0.3, r.Value.Point.Y, 12);
        Assert.Equal(256.0, r.Value.Pixel.X, 9);
        Assert.Equal(216.0, r.Value.Pixel.Y, 9);
    }

    [Theory]
    [InlineData("The answer is 0.5 and 0.25", 0.5, 0.25)]
    [InlineData("x=0.2 y=0.4 to x=0.4 y=0.6", 0.3, 0.5)]
    [InlineData("Mark: 7, at 0.5 0.25", 0.5, 0.25)] // mark 7 is not in the map and is not a coordinate
    public void All_numbers_fallback(string text, double x, double y)
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget(text, 200, 100);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(UiTargetRule.AllNumbers, r.Value.Rule);
        Assert.Equal(x, r.Value.Point.X, 12);
        Assert.Equal(y, r.Value.Point.Y, 12);
        Assert.Equal(x * 200, r.Value.Pixel.X, 9);
    }

    [Theory]
    [InlineData("", "no coordinates")]
    [InlineData("Mark: 7", "Mark 7 is not among the 2 supplied marks and no coordinates")]
    [InlineData("Coordinate: (1.5, -0.2)", "coordinate 1.5 is outside [0, 1]")]
    [InlineData("Mark: 99999999999999999999", "out of range")]
    [InlineData("<box>(100,200),(300,400)", "no <box>(x1,y1),(x2,y2)</box>")]
    [InlineData("<box>(100,200),(300,4000)</box>", "outside 0…1000")]
    [InlineData("<box>(1e2,200),(300,400)</box>", "no <box>(x1,y1),(x2,y2)</box>")]
    [InlineData("1 2 3", "found 3 numbers")]
    [InlineData("NaN, Infinity", "no coordinates")]
    [InlineData("٠.٥ ٠.٥", "no coordinates")]
    [InlineData("0.5 0.000000000000000000000000000001", "longer than 24 characters")]
    public void Malformed_targets_are_unparseable(string text, string reason)
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget(text, 1280, 720, Marks);
        Assert.False(r.IsSuccess);
        Assert.Contains(reason, r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Mark_without_map_is_reported()
    {
        DecodeResult<UiTarget> r = UiAnswerParser.ParseTarget("Mark: 3", 10, 10);
        Assert.False(r.IsSuccess);
        Assert.Contains("no mark boxes were supplied", r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_image_size_is_an_input_error()
    {
        var ex = Assert.Throws<MagmaInputException>(() => UiAnswerParser.ParseTarget("(0.5,0.5)", 0, 720));
        Assert.Contains("imageWidth", ex.Message, StringComparison.Ordinal);
    }
}
