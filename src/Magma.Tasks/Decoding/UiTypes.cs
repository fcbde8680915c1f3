namespace Magma.Tasks.Decoding;

/// <summary>A point in image coordinates normalised to [0, 1] by width (X) and height (Y).</summary>
/// <param name="X">Horizontal position, 0 = left edge, 1 = right edge.</param>
/// <param name="Y">Vertical position, 0 = top edge, 1 = bottom edge.</param>
public readonly record struct NormalizedPoint(double X, double Y);

/// <summary>A box in normalised image coordinates (left, top, right, bottom).</summary>
/// <param name="X1">Left edge.</param>
/// <param name="Y1">Top edge.</param>
/// <param name="X2">Right edge.</param>
/// <param name="Y2">Bottom edge.</param>
public readonly record struct NormalizedBox(double X1, double Y1, double X2, double Y2)
{
    /// <summary>The centre of the box, the point the UI demo clicks.</summary>
    public NormalizedPoint Center => new((X1 + X2) / 2, (Y1 + Y2) / 2);
}

/// <summary>A point in pixels of the original image.</summary>
/// <param name="X">Pixels from the left edge.</param>
/// <param name="Y">Pixels from the top edge.</param>
public readonly record struct PixelPoint(double X, double Y);

/// <summary>Which rule of the UI demo's parsing order produced a <see cref="UiTarget"/>.</summary>
public enum UiTargetRule
{
    /// <summary><c>Mark: N</c> found and N is in the supplied mark → box map; the target is that box's centre.</summary>
    MarkLookup,

    /// <summary>Qwen-VL style <c>&lt;box&gt;(x1,y1),(x2,y2)&lt;/box&gt;</c> on a 0…1000 grid; the target is the centre.</summary>
    QwenBox,

    /// <summary>The first parenthesised tuple of 2 (point) or 4 (box) numbers, e.g. <c>Coordinate: (0.04, 0.12)</c>.</summary>
    CoordinateTuple,

    /// <summary>All numbers in the text: 2 give a point, 4 the centre of a box (the demo's last resort).</summary>
    AllNumbers,
}

/// <summary>Where the model wants to act on a screenshot (spec §7.2).</summary>
/// <param name="MarkId">The mark named by <c>Mark: N</c>, if any (0-based in the released UI demo).</param>
/// <param name="Point">The target point, normalised to [0, 1].</param>
/// <param name="Box">The box the point was taken from, when the answer or the mark map gave one.</param>
/// <param name="Pixel">The target point in pixels of the screenshot.</param>
/// <param name="Rule">Which parsing rule produced the point.</param>
public sealed record UiTarget(int? MarkId, NormalizedPoint Point, NormalizedBox? Box, PixelPoint Pixel, UiTargetRule Rule);

/// <summary>The kind of one answer in a pretraining-style UI answer.</summary>
public enum UiAnswerKind
{
    /// <summary><c>Coordinate: (x, y)</c>, optionally with a mark.</summary>
    Point,

    /// <summary><c>Coordinate: (x1, y1, x2, y2)</c>, optionally with a mark.</summary>
    Box,

    /// <summary><c>Text: …</c>, optionally with a mark.</summary>
    Text,

    /// <summary>A bare <c>Mark: N</c>.</summary>
    Mark,
}

/// <summary>One answer of a pretraining-style UI answer such as <c>Coordinate: (0.04, 0.12). Mark: 12</c>.</summary>
/// <param name="Kind">What the answer names.</param>
/// <param name="Point">The point, for <see cref="UiAnswerKind.Point"/>; the box centre for <see cref="UiAnswerKind.Box"/>.</param>
/// <param name="Box">The box, for <see cref="UiAnswerKind.Box"/>.</param>
/// <param name="Text">The text, for <see cref="UiAnswerKind.Text"/>.</param>
/// <param name="Mark">The mark id, when the answer has one.</param>
public sealed record UiAnswer(UiAnswerKind Kind, NormalizedPoint? Point, NormalizedBox? Box, string? Text, int? Mark);

/// <summary>All answers in one model reply, in order.</summary>
/// <param name="Answers">The answers; empty when the model said <c>No input areas found.</c></param>
/// <param name="NoInputAreas">True when the reply was <c>No input areas found.</c></param>
public sealed record UiAnswerSet(IReadOnlyList<UiAnswer> Answers, bool NoInputAreas);
