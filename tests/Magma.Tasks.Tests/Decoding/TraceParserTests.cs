using Magma.Inference;
using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class TraceParserTests
{
    private const string Answer =
        "Mark 3 at [10,20], Mark 7 at [100,200] should be moved, and their future positions are:\n\n" +
        "\"Mark 3\": \"[[12,22],[14,24],[16,26]]\"\n\n" +
        "\"Mark 7\": \"[[102,198]]\"\n\n";

    [Fact]
    public void Parses_spec_format_with_header_and_pads_short_traces()
    {
        DecodeResult<TracePlan> r = TraceParser.Parse(Answer, 512, 256);
        Assert.True(r.IsSuccess, r.FailureReason);
        TracePlan plan = r.Value;

        Assert.Equal(3, plan.StepCount);
        Assert.Equal([3, 7], plan.MovedMarks.Select(m => m.MarkId));
        Assert.Equal(new GridPoint(100, 200), plan.MovedMarks[1].Grid);

        MarkTrace three = plan.Traces[0];
        Assert.Equal(3, three.MarkId);
        Assert.Equal(3, three.PredictedLength);
        Assert.Equal([new GridPoint(12, 22), new GridPoint(14, 24), new GridPoint(16, 26)], three.GridPoints);
        // x / 256 * width, y / 256 * height
        Assert.Equal(new PixelPoint(24, 22), three.PixelPoints[0]);
        Assert.Equal(new PixelPoint(32, 26), three.PixelPoints[2]);

        MarkTrace seven = plan.Traces[1];
        Assert.Equal(1, seven.PredictedLength);
        Assert.Equal([new GridPoint(102, 198), new GridPoint(102, 198), new GridPoint(102, 198)], seven.GridPoints);
        Assert.Equal(3, seven.PixelPoints.Count);
        Assert.Equal(new PixelPoint(204, 198), seven.PixelPoints[2]);
    }

    [Fact]
    public void Accepts_trace_wrappers_spaces_single_quotes_and_no_header()
    {
        const string text = "<trace_start>'Mark 1': '[[0, 0], [255, 255]]', \"Mark 2\": [[5,6]]<trace_end> trailing words";
        DecodeResult<TracePlan> r = TraceParser.Parse(text, 256, 256);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Empty(r.Value.MovedMarks);
        Assert.Equal(2, r.Value.Traces.Count);
        Assert.Equal(new GridPoint(255, 255), r.Value.Traces[0].GridPoints[1]);
        Assert.Equal(new PixelPoint(255, 255), r.Value.Traces[0].PixelPoints[1]);
        Assert.Equal(new GridPoint(5, 6), r.Value.Traces[1].GridPoints[1]);
    }

    [Theory]
    [InlineData("", "no \"Mark k\"")]
    [InlineData("and their future positions are:\n\n", "no \"Mark k\"")]
    [InlineData("\"Mark 3\": \"[[12,22],[14,24]\"", "expected ',' or ']'")]
    [InlineData("\"Mark 3\": \"[12,22],[14,24]]\"", "expected '['")]
    [InlineData("\"Mark 3\": \"[[12,22],[14,24\"", "expected ']'")]
    [InlineData("\"Mark 3\": \"[]\"", "trace of Mark 3 is empty")]
    [InlineData("\"Mark 3\": \"[[12,22]]\"\n\n\"Mark 3\": \"[[1,2]]\"", "Mark 3 has two traces")]
    [InlineData("\"Mark 3\": \"[[300,22]]\"", "outside 0…255")]
    [InlineData("\"Mark 3\": \"[[-1,22]]\"", "outside 0…255")]
    [InlineData("\"Mark 3\": \"[[99999999999999999999,22]]\"", "outside 0…255")]
    [InlineData("\"Mark 3\": \"[[1.5,22]]\"", "expected ','")]
    [InlineData("\"Mark 3\": \"[[NaN,22]]\"", "expected an integer")]
    [InlineData("\"Mark 3\": \"[[١,22]]\"", "expected an integer")]
    [InlineData("\"Mark 99999999999999999999\": \"[[1,2]]\"", "mark number 99999999999999999999 is out of range")]
    [InlineData("\"Mark 3: \"[[1,2]]\"", "not closed")]
    [InlineData("\"Mark 3\" \"[[1,2]]\"", "expected ':'")]
    [InlineData("\"Mark 3\": \"[[1,2]]", "not closed")]
    [InlineData("Mark 3: [[1,2]]", "expected a quoted")]
    [InlineData("The robot should pick up the chip bag.", "expected a quoted")]
    public void Malformed_traces_are_unparseable(string text, string reason)
    {
        DecodeResult<TracePlan> r = TraceParser.Parse(text, 640, 480);
        Assert.False(r.IsSuccess);
        Assert.Contains(reason, r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Locate_the_marks_answer()
    {
        DecodeResult<MarkLocationSet> r = TraceParser.ParseMarkLocations("Mark 1 at [12,34]. Mark 2 at [200,100]\n", 512, 1024);
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(2, r.Value.Marks.Count);
        Assert.Equal(new MarkLocation(1, new GridPoint(12, 34), new PixelPoint(24, 136)), r.Value.Marks[0]);
        Assert.Equal(new MarkLocation(2, new GridPoint(200, 100), new PixelPoint(400, 400)), r.Value.Marks[1]);
    }

    [Theory]
    [InlineData("", "no \"Mark k at [x,y]\"")]
    [InlineData("Mark 1 at [12,34]. Mark 2 at [200,", "expected an integer")]
    [InlineData("Mark 1 at 12,34", "expected '['")]
    [InlineData("Mark 1 [12,34]", "expected 'at'")]
    [InlineData("Mark 1 at [12,34] and Mark 2 at [1,2]", "expected \"Mark k at [x,y]\"")]
    [InlineData("Mark 1 at [12,34]. Mark 2 at [1,2", "expected ']'")]
    public void Malformed_locations_are_unparseable(string text, string reason)
    {
        DecodeResult<MarkLocationSet> r = TraceParser.ParseMarkLocations(text, 256, 256);
        Assert.False(r.IsSuccess);
        Assert.Contains(reason, r.FailureReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0, 640, 0)]
    [InlineData(2.5, 640, 1)]   // floor(256 * 2.5 / 640) = floor(1.0)
    [InlineData(2.4, 640, 0)]
    [InlineData(320.0, 640, 128)]
    [InlineData(639.9, 640, 255)]
    [InlineData(640.0, 640, 255)] // far edge clamped onto the grid
    [InlineData(-3.0, 640, 0)]
    public void Quantize_floors_to_256_grid(double coordinate, int extent, int expected)
    {
        Assert.Equal(expected, TraceParser.Quantize(coordinate, extent));
    }

    [Fact]
    public void Quantize_rejects_bad_input()
    {
        Assert.Throws<MagmaInputException>(() => TraceParser.Quantize(1, 0));
        Assert.Throws<MagmaInputException>(() => TraceParser.Quantize(double.NaN, 10));
    }
}
