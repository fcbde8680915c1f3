using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class AgentActionParserTests
{
    [Fact]
    public void Tap_mark()
    {
        DecodeResult<MobileAction> r = UiAnswerParser.ParseMobileAction("{\"TAP\": {\"MARK\": 11}}");
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(new MobileTapMark(11), r.Value);
    }

    [Fact]
    public void Tap_normalized_coordinate_is_y_first()
    {
        DecodeResult<MobileAction> r = UiAnswerParser.ParseMobileAction("{\"TAP\": {\"NORMALIZED_COORDINATE\": [0.8, 0.25]}}");
        Assert.True(r.IsSuccess, r.FailureReason);
        MobileTapPoint tap = Assert.IsType<MobileTapPoint>(r.Value);
        Assert.Equal(0.25, tap.Point.X);
        Assert.Equal(0.8, tap.Point.Y);
    }

    [Fact]
    public void Tap_coordinate_key_variant_from_the_paper()
    {
        DecodeResult<MobileAction> r = UiAnswerParser.ParseMobileAction("{\"TAP\": {\"Coordinate\": [0.54, 0.88]}}");
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(new MobileTapPoint(new NormalizedPoint(0.88, 0.54)), r.Value);
    }

    [Theory]
    [InlineData("{\"SWIPE\": \"UP\"}")]
    [InlineData("{\"NAVIGATE\": \"BACK\"}")]
    [InlineData("{\"NAVIGATE\": \"ENTER\"}")]
    [InlineData("{\"TYPE\": \"Instagram\"}")]
    [InlineData("{\"SET_TASK_STATUS\": \"COMPLETE\"}")]
    [InlineData("{\"SET_TASK_STATUS\": \"impossible\"}")]
    public void Other_mobile_actions(string json)
    {
        DecodeResult<MobileAction> r = UiAnswerParser.ParseMobileAction(json);
        Assert.True(r.IsSuccess, r.FailureReason);
        MobileAction expected = json switch
        {
            _ when json.Contains("SWIPE", StringComparison.Ordinal) => new MobileSwipe(SwipeDirection.Up),
            _ when json.Contains("BACK", StringComparison.Ordinal) => new MobileNavigate(NavigationKey.Back),
            _ when json.Contains("ENTER", StringComparison.Ordinal) => new MobileNavigate(NavigationKey.Enter),
            _ when json.Contains("TYPE", StringComparison.Ordinal) => new MobileType("Instagram"),
            _ when json.Contains("COMPLETE", StringComparison.Ordinal) => new MobileSetTaskStatus(TaskCompletion.Complete),
            _ => new MobileSetTaskStatus(TaskCompletion.Impossible),
        };
        Assert.Equal(expected, r.Value);
    }

    [Fact]
    public void Surrounding_text_and_braces_in_strings_are_tolerated()
    {
        DecodeResult<MobileAction> r = UiAnswerParser.ParseMobileAction(
            "Sure! My next action is:\n```json\n{\"TYPE\": \"a {curly} \\\"quoted\\\" text\"}\n``` and then {\"TAP\": {\"MARK\": 2}}");
        Assert.True(r.IsSuccess, r.FailureReason);
        Assert.Equal(new MobileType("a {curly} \"quoted\" text"), r.Value);
    }

    [Theory]
    [InlineData("", "no JSON object")]
    [InlineData("TAP MARK 11", "no JSON object")]
    [InlineData("{\"TAP\": {\"MARK\": 11}", "not closed")]
    [InlineData("{\"TAP\": {\"MARK\": -1}}", "not a non-negative integer")]
    [InlineData("{\"TAP\": {\"MARK\": 99999999999999999999}}", "not a non-negative integer")]
    [InlineData("{\"TAP\": {\"MARK\": 1.5}}", "not a non-negative integer")]
    [InlineData("{\"TAP\": {\"MARK\": \"١١\"}}", "not a non-negative integer")]
    [InlineData("{\"TAP\": {\"NORMALIZED_COORDINATE\": [1.2, 0.5]}}", "coordinate 1.2 is outside [0, 1]")]
    [InlineData("{\"TAP\": {\"NORMALIZED_COORDINATE\": [0.5, -0.1]}}", "coordinate -0.1 is outside [0, 1]")]
    [InlineData("{\"TAP\": {\"NORMALIZED_COORDINATE\": [0.5]}}", "array [y, x] of two numbers")]
    [InlineData("{\"TAP\": {\"NORMALIZED_COORDINATE\": [NaN, 0.5]}}", "invalid JSON")]
    [InlineData("{\"TAP\": {\"NORMALIZED_COORDINATE\": [Infinity, 0.5]}}", "invalid JSON")]
    [InlineData("{\"TAP\": {\"NORMALIZED_COORDINATE\": [\"0.5\", 0.5]}}", "is not a number")]
    [InlineData("{\"TAP\": {}}", "needs MARK or NORMALIZED_COORDINATE")]
    [InlineData("{\"TAP\": 3}", "must be an object")]
    [InlineData("{\"SWIPE\": \"DIAGONAL\"}", "is not one of UP, DOWN, LEFT, RIGHT")]
    [InlineData("{\"NAVIGATE\": 1}", "must be a string")]
    [InlineData("{\"TYPE\": null}", "TYPE must be a string")]
    [InlineData("{\"JUMP\": \"HIGH\"}", "unknown action key")]
    [InlineData("{\"TAP\": {\"MARK\": 1}, \"SWIPE\": \"UP\"}", "exactly one action key")]
    [InlineData("{}", "exactly one action key")]
    [InlineData("{'TAP': {'MARK': 11}}", "invalid JSON")]
    [InlineData("}{\"TAP\": {\"MARK\": 11}}", "")]
    [InlineData("{\"a\": [[[[[[[[[[1]]]]]]]]]]}", "nested deeper than 8")]
    [InlineData("{\"a\": [1}]}", "invalid JSON")]
    [InlineData("{\"a\": 1]]]]}", "invalid JSON")]
    public void Malformed_mobile_answers_are_unparseable(string text, string reason)
    {
        DecodeResult<MobileAction> r = UiAnswerParser.ParseMobileAction(text);
        if (reason.Length == 0)
        {
            // A stray '}' before the object is just prose: the first '{' still starts a valid object.
            Assert.True(r.IsSuccess, r.FailureReason);
            return;
        }

        Assert.False(r.IsSuccess);
        Assert.Contains(reason, r.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Web_action_click_and_type()
    {
        DecodeResult<WebAction> click = UiAnswerParser.ParseWebAction("{\"ACTION\": \"CLICK\", \"MARK\": 3}");
        Assert.True(click.IsSuccess, click.FailureReason);
        Assert.Equal(new WebAction(WebOperation.Click, 3, null), click.Value);

        DecodeResult<WebAction> type = UiAnswerParser.ParseWebAction("Answer: {\"ACTION\": \"TYPE\", \"MARK\": 0, \"VALUE\": \"New York\"}");
        Assert.True(type.IsSuccess, type.FailureReason);
        Assert.Equal(new WebAction(WebOperation.Type, 0, "New York"), type.Value);

        DecodeResult<WebAction> select = UiAnswerParser.ParseWebAction("{\"action\": \"select\", \"mark\": \"5\", \"value\": \"2\"}");
        Assert.True(select.IsSuccess, select.FailureReason);
        Assert.Equal(new WebAction(WebOperation.Select, 5, "2"), select.Value);
    }

    [Theory]
    [InlineData("{\"MARK\": 3}", "missing \"ACTION\"")]
    [InlineData("{\"ACTION\": \"CLICK\"}", "missing \"MARK\"")]
    [InlineData("{\"ACTION\": \"HOVER\", \"MARK\": 3}", "is not one of CLICK, TYPE, SELECT")]
    [InlineData("{\"ACTION\": \"CLICK\", \"MARK\": -3}", "not a non-negative integer")]
    [InlineData("{\"ACTION\": \"TYPE\", \"MARK\": 3, \"VALUE\": 42}", "VALUE must be a string")]
    [InlineData("{\"ACTION\": \"CLICK\", \"MARK\": 3", "not closed")]
    public void Malformed_web_answers_are_unparseable(string text, string reason)
    {
        DecodeResult<WebAction> r = UiAnswerParser.ParseWebAction(text);
        Assert.False(r.IsSuccess);
        Assert.Contains(reason, r.FailureReason, StringComparison.Ordinal);
    }
}
