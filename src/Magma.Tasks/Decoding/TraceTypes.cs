namespace Magma.Tasks.Decoding;

/// <summary>A point on Magma's 256×256 trace grid (spec §7.3): x_q = floor(256·x / width), y_q likewise.</summary>
/// <param name="X">Column, 0 … 255 (256 is tolerated as the right edge).</param>
/// <param name="Y">Row, 0 … 255 (256 is tolerated as the bottom edge).</param>
public readonly record struct GridPoint(int X, int Y);

/// <summary>Where a numbered mark is, on the grid and in pixels of the original image.</summary>
/// <param name="MarkId">The mark number (1-based for robot and video marks).</param>
/// <param name="Grid">Position on the 256 grid.</param>
/// <param name="Pixel">Position in pixels: grid / 256 · image size.</param>
public sealed record MarkLocation(int MarkId, GridPoint Grid, PixelPoint Pixel);

/// <summary>The answer to the "locate the marks" task: <c>Mark 1 at [x,y]. Mark 2 at [x,y]</c>.</summary>
/// <param name="Marks">The marks in answer order.</param>
public sealed record MarkLocationSet(IReadOnlyList<MarkLocation> Marks);

/// <summary>The predicted future positions of one mark.</summary>
/// <param name="MarkId">The mark number.</param>
/// <param name="GridPoints">
/// Future positions on the 256 grid, padded with the last predicted point to the plan's
/// <see cref="TracePlan.StepCount"/> (as the planning demo does).
/// </param>
/// <param name="PixelPoints">The same positions in pixels of the original image.</param>
/// <param name="PredictedLength">How many of the points the model actually predicted (the rest are padding).</param>
public sealed record MarkTrace(int MarkId, IReadOnlyList<GridPoint> GridPoints, IReadOnlyList<PixelPoint> PixelPoints, int PredictedLength);

/// <summary>A Trace-of-Mark plan: which marks move and where they go (spec §7.3).</summary>
/// <param name="MovedMarks">The marks the answer says should be moved, with their current positions (may be empty).</param>
/// <param name="Traces">One trace per mark, in answer order.</param>
/// <param name="StepCount">Length of every trace after padding (the longest predicted trace).</param>
public sealed record TracePlan(IReadOnlyList<MarkLocation> MovedMarks, IReadOnlyList<MarkTrace> Traces, int StepCount);
