using Magma.Inference;

namespace Magma.Tasks.Decoding;

/// <summary>
/// Parses Trace-of-Mark answers (spec §7.3) — <c>Mark 3 at [x,y] should be moved, and their future positions are:\n\n"Mark 3": "[[x,y],…]"</c>
/// — and "locate the marks" answers (<c>Mark 1 at [x,y]. Mark 2 at [x,y]</c>), and quantises pixel positions
/// to the 256 grid for prompts. Hand-written single-pass parsers: malformed text gives an unparseable
/// <see cref="DecodeResult{T}"/>, never an exception.
/// </summary>
public static class TraceParser
{
    /// <summary>Cells per side of the trace grid (<c>spatial_quant_size</c>).</summary>
    public const int GridSize = 256;

    /// <summary>Longest answer accepted (characters); trace prompts generate at most 1024 tokens.</summary>
    public const int MaxAnswerLength = 64 * 1024;

    private const string FuturePositions = "and their future positions are:";
    private const string TraceStart = "<trace_start>";
    private const string TraceEnd = "<trace_end>";

    /// <summary>
    /// Quantises a pixel coordinate to the grid: floor(256·coordinate / extent), clamped to 0 … 255 so a point on the
    /// far edge stays on the grid.
    /// </summary>
    /// <param name="coordinate">Pixel coordinate (x or y).</param>
    /// <param name="extent">Image width (for x) or height (for y) in pixels.</param>
    /// <exception cref="MagmaInputException">The extent is not positive or the coordinate is not finite.</exception>
    public static int Quantize(double coordinate, int extent)
    {
        if (extent <= 0)
        {
            throw new MagmaInputException($"Quantize(extent): the image extent must be positive, got {extent}.");
        }

        if (!double.IsFinite(coordinate))
        {
            throw new MagmaInputException($"Quantize(coordinate): the coordinate must be a finite number, got {coordinate}.");
        }

        double q = Math.Floor(GridSize * coordinate / extent);
        return (int)Math.Clamp(q, 0, GridSize - 1);
    }

    /// <summary>
    /// Parses a Trace-of-Mark answer into per-mark traces on the grid and in pixels of a
    /// <paramref name="imageWidth"/>×<paramref name="imageHeight"/> image. Optional <c>&lt;trace_start&gt;</c> /
    /// <c>&lt;trace_end&gt;</c> wrappers and the "Mark k at [x,y] … should be moved" header are accepted; values may be
    /// quoted with either quote character (the demo reads them as Python literals).
    /// </summary>
    /// <exception cref="MagmaInputException">The image size is not positive.</exception>
    public static DecodeResult<TracePlan> Parse(string text, int imageWidth, int imageHeight)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckSize(imageWidth, imageHeight, nameof(Parse));
        if (text.Length > MaxAnswerLength)
        {
            return DecodeResult.Failure<TracePlan>($"answer is {text.Length} characters, more than the {MaxAnswerLength} accepted", text);
        }

        int start = 0, end = text.Length;
        int wrapStart = text.IndexOf(TraceStart, StringComparison.Ordinal);
        if (wrapStart >= 0)
        {
            start = wrapStart + TraceStart.Length;
        }

        int wrapEnd = text.IndexOf(TraceEnd, start, StringComparison.Ordinal);
        if (wrapEnd >= 0)
        {
            end = wrapEnd;
        }

        var moved = new List<MarkLocation>();
        int split = text.IndexOf(FuturePositions, start, end - start, StringComparison.Ordinal);
        if (split >= 0)
        {
            // The header only restates current positions; the demo ignores it, so a sloppy header is not fatal.
            CollectLocations(text, start, split, imageWidth, imageHeight, moved);
            start = split + FuturePositions.Length;
        }

        var traces = new List<(int Mark, List<GridPoint> Points)>();
        int p = start;
        while (true)
        {
            while (p < end && (char.IsWhiteSpace(text[p]) || text[p] == ','))
            {
                p++;
            }

            if (p >= end)
            {
                break;
            }

            if (!TryReadTraceEntry(text, ref p, end, out int mark, out List<GridPoint>? points, out string? problem))
            {
                return DecodeResult.Failure<TracePlan>(problem!, text);
            }

            foreach ((int existing, _) in traces)
            {
                if (existing == mark)
                {
                    return DecodeResult.Failure<TracePlan>($"Mark {mark} has two traces", text);
                }
            }

            traces.Add((mark, points!));
        }

        if (traces.Count == 0)
        {
            return DecodeResult.Failure<TracePlan>("no \"Mark k\": \"[[x,y],…]\" trace in the answer", text);
        }

        int steps = traces.Max(t => t.Points.Count);
        var result = new MarkTrace[traces.Count];
        for (int t = 0; t < traces.Count; t++)
        {
            List<GridPoint> points = traces[t].Points;
            int predicted = points.Count;
            GridPoint last = points[^1];
            var grid = new GridPoint[steps];
            var pixels = new PixelPoint[steps];
            for (int s = 0; s < steps; s++)
            {
                grid[s] = s < predicted ? points[s] : last;
                pixels[s] = ToPixel(grid[s], imageWidth, imageHeight);
            }

            result[t] = new MarkTrace(traces[t].Mark, grid, pixels, predicted);
        }

        return DecodeResult.Success(new TracePlan(moved, result, steps), text);
    }

    /// <summary>
    /// Parses a "locate the marks" answer, <c>Mark 1 at [x,y]. Mark 2 at [x,y]</c>; entries may be separated by
    /// periods, commas, semicolons or whitespace, and nothing else may appear.
    /// </summary>
    /// <exception cref="MagmaInputException">The image size is not positive.</exception>
    public static DecodeResult<MarkLocationSet> ParseMarkLocations(string text, int imageWidth, int imageHeight)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckSize(imageWidth, imageHeight, nameof(ParseMarkLocations));
        if (text.Length > MaxAnswerLength)
        {
            return DecodeResult.Failure<MarkLocationSet>($"answer is {text.Length} characters, more than the {MaxAnswerLength} accepted", text);
        }

        var marks = new List<MarkLocation>();
        int p = 0;
        while (true)
        {
            while (p < text.Length && (char.IsWhiteSpace(text[p]) || text[p] is '.' or ',' or ';'))
            {
                p++;
            }

            if (p >= text.Length)
            {
                break;
            }

            if (!TryReadLocation(text, ref p, out int mark, out GridPoint point, out string? problem))
            {
                return DecodeResult.Failure<MarkLocationSet>(problem!, text);
            }

            marks.Add(new MarkLocation(mark, point, ToPixel(point, imageWidth, imageHeight)));
        }

        return marks.Count == 0
            ? DecodeResult.Failure<MarkLocationSet>("no \"Mark k at [x,y]\" in the answer", text)
            : DecodeResult.Success(new MarkLocationSet(marks), text);
    }

    private static void CheckSize(int width, int height, string method)
    {
        if (width <= 0 || height <= 0)
        {
            throw new MagmaInputException(
                $"{method}(imageWidth, imageHeight): the image size must be positive, got {width}×{height}; pass the size of the original image.");
        }
    }

    private static PixelPoint ToPixel(GridPoint g, int width, int height) =>
        new((double)g.X / GridSize * width, (double)g.Y / GridSize * height);

    private static void CollectLocations(string text, int start, int end, int width, int height, List<MarkLocation> into)
    {
        int from = start;
        while (from < end)
        {
            int at = text.IndexOf("Mark", from, end - from, StringComparison.Ordinal);
            if (at < 0)
            {
                return;
            }

            int p = at;
            if (TryReadLocation(text, ref p, out int mark, out GridPoint point, out _) && p <= end)
            {
                into.Add(new MarkLocation(mark, point, ToPixel(point, width, height)));
                from = p;
            }
            else
            {
                from = at + 4;
            }
        }
    }

    /// <summary>Reads "Mark k at [x,y]" at <paramref name="p"/>.</summary>
    private static bool TryReadLocation(string text, ref int p, out int mark, out GridPoint point, out string? problem)
    {
        point = default;
        int q = p;
        if (!TextScan.StartsWith(text, q, "Mark"))
        {
            mark = 0;
            problem = $"expected \"Mark k at [x,y]\" at offset {p}: \"{JsonSnippet.Shorten(text[p..])}\"";
            return false;
        }

        q = TextScan.SkipWhitespace(text, q + 4);
        if (!ReadMarkNumber(text, ref q, out mark, out problem))
        {
            return false;
        }

        q = TextScan.SkipWhitespace(text, q);
        if (!TextScan.StartsWith(text, q, "at"))
        {
            problem = $"expected 'at' after Mark {mark} at offset {q}";
            return false;
        }

        q = TextScan.SkipWhitespace(text, q + 2);
        if (!TryReadPoint(text, ref q, text.Length, out point, out problem))
        {
            return false;
        }

        p = q;
        return true;
    }

    /// <summary>Reads <c>"Mark k": "[[x,y],…]"</c> (either quote character, value quoted or not).</summary>
    private static bool TryReadTraceEntry(string text, ref int p, int end, out int mark, out List<GridPoint>? points, out string? problem)
    {
        mark = 0;
        points = null;
        int q = p;
        char quote = text[q];
        if (quote is not ('"' or '\''))
        {
            problem = $"expected a quoted \"Mark k\" key at offset {q}: \"{JsonSnippet.Shorten(text[q..end])}\"";
            return false;
        }

        q++;
        if (!TextScan.StartsWith(text, q, "Mark"))
        {
            problem = $"expected \"Mark k\" at offset {q}";
            return false;
        }

        q = TextScan.SkipWhitespace(text, q + 4);
        if (!ReadMarkNumber(text, ref q, out mark, out problem))
        {
            return false;
        }

        if (q >= end || text[q] != quote)
        {
            problem = $"the key for Mark {mark} is not closed with {quote} at offset {q}";
            return false;
        }

        q = TextScan.SkipWhitespace(text, q + 1);
        if (q >= end || text[q] != ':')
        {
            problem = $"expected ':' after the key for Mark {mark} at offset {q}";
            return false;
        }

        q = TextScan.SkipWhitespace(text, q + 1);
        char valueQuote = q < end && text[q] is '"' or '\'' ? text[q] : '\0';
        if (valueQuote != '\0')
        {
            q = TextScan.SkipWhitespace(text, q + 1);
        }

        if (!TryReadPointList(text, ref q, end, mark, out points, out problem))
        {
            return false;
        }

        if (valueQuote != '\0')
        {
            q = TextScan.SkipWhitespace(text, q);
            if (q >= end || text[q] != valueQuote)
            {
                problem = $"the trace of Mark {mark} is not closed with {valueQuote} at offset {q}";
                return false;
            }

            q++;
        }

        p = q;
        return true;
    }

    private static bool ReadMarkNumber(string text, ref int q, out int mark, out string? problem)
    {
        if (!TextScan.TryReadNonNegativeInt(text, q, out mark, out int numberEnd, out bool overflow))
        {
            problem = $"expected a mark number at offset {q}";
            return false;
        }

        if (overflow)
        {
            problem = $"mark number {JsonSnippet.Shorten(text[q..numberEnd])} is out of range";
            return false;
        }

        q = numberEnd;
        problem = null;
        return true;
    }

    private static bool TryReadPointList(string text, ref int q, int end, int mark, out List<GridPoint>? points, out string? problem)
    {
        points = null;
        if (q >= end || text[q] != '[')
        {
            problem = $"expected '[' opening the trace of Mark {mark} at offset {q}";
            return false;
        }

        var list = new List<GridPoint>();
        q = TextScan.SkipWhitespace(text, q + 1);
        if (q < end && text[q] == ']')
        {
            problem = $"the trace of Mark {mark} is empty";
            return false;
        }

        while (true)
        {
            if (!TryReadPoint(text, ref q, end, out GridPoint point, out problem))
            {
                problem = $"trace of Mark {mark}: {problem}";
                return false;
            }

            list.Add(point);
            q = TextScan.SkipWhitespace(text, q);
            if (q < end && text[q] == ',')
            {
                q = TextScan.SkipWhitespace(text, q + 1);
                continue;
            }

            if (q < end && text[q] == ']')
            {
                q++;
                points = list;
                problem = null;
                return true;
            }

            problem = $"trace of Mark {mark}: expected ',' or ']' at offset {q}";
            return false;
        }
    }

    /// <summary>Reads "[x,y]" with integer grid coordinates in 0 … 256.</summary>
    private static bool TryReadPoint(string text, ref int q, int end, out GridPoint point, out string? problem)
    {
        point = default;
        int r = q;
        if (r >= end || text[r] != '[')
        {
            problem = $"expected '[' at offset {r}";
            return false;
        }

        r = TextScan.SkipWhitespace(text, r + 1);
        if (!ReadCoordinate(text, ref r, end, out int x, out problem))
        {
            return false;
        }

        r = TextScan.SkipWhitespace(text, r);
        if (r >= end || text[r] != ',')
        {
            problem = $"expected ',' at offset {r}";
            return false;
        }

        r = TextScan.SkipWhitespace(text, r + 1);
        if (!ReadCoordinate(text, ref r, end, out int y, out problem))
        {
            return false;
        }

        r = TextScan.SkipWhitespace(text, r);
        if (r >= end || text[r] != ']')
        {
            problem = $"expected ']' at offset {r}";
            return false;
        }

        q = r + 1;
        point = new GridPoint(x, y);
        problem = null;
        return true;
    }

    private static bool ReadCoordinate(string text, ref int r, int end, out int value, out string? problem)
    {
        if (!TextScan.TryReadInt(text, r, out value, out int numberEnd, out bool overflow) || numberEnd > end)
        {
            problem = $"expected an integer grid coordinate at offset {r}";
            return false;
        }

        if (overflow || value < 0 || value > GridSize)
        {
            problem = $"grid coordinate {JsonSnippet.Shorten(text[r..numberEnd])} at offset {r} is outside 0…{GridSize - 1}";
            return false;
        }

        r = numberEnd;
        problem = null;
        return true;
    }
}
