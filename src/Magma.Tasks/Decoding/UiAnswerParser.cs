using System.Globalization;
using System.Text.Json;
using Magma.Inference;

namespace Magma.Tasks.Decoding;

/// <summary>
/// Parses Magma's UI answers (spec §7.2): pretraining-style <c>Coordinate: (x, y). Mark: N</c> answers, the UI
/// demo's click-target rules, and the JSON action formats of AITW (mobile) and Mind2Web (web).
/// Malformed or out-of-range answers give an unparseable <see cref="DecodeResult{T}"/>; nothing here throws on
/// model output.
/// </summary>
public static class UiAnswerParser
{
    /// <summary>
    /// Longest answer accepted (characters). The UI prompts generate at most 128 tokens; anything much longer is a
    /// runaway generation and is reported as unparseable rather than scanned.
    /// </summary>
    public const int MaxAnswerLength = 16 * 1024;

    // Enough for several concatenated answers; the demo's fallback only ever uses 2 or 4.
    private const int MaxNumbers = 64;

    private const string CoordinateKeyword = "Coordinate:";
    private const string MarkKeyword = "Mark:";
    private const string TextKeyword = "Text:";
    private const string NoInputAreas = "No input areas found";

    /// <summary>
    /// Finds the click target the way the UI demo does: (1) <c>Mark: N</c> with N in <paramref name="markBoxes"/> →
    /// that box's centre; (2) <c>&lt;box&gt;(x1,y1),(x2,y2)&lt;/box&gt;</c> on a 0…1000 grid → centre / 1000;
    /// (3) the first parenthesised tuple of 2 or 4 numbers; (4) all numbers in the text except mark ids, 2 → point,
    /// 4 → box centre.
    /// The point is then scaled to pixels of the screenshot.
    /// </summary>
    /// <remarks>
    /// Rule 3 is not in the demo: there, <c>Coordinate: (0.04, 0.12). Mark: 12</c> with an unknown mark yields three
    /// numbers and no target. Taking the coordinate tuple first, and not counting mark ids as coordinates, recovers
    /// the point the model clearly meant.
    /// Normalised coordinates outside [0, 1] are rejected rather than clicked off-screen.
    /// </remarks>
    /// <param name="text">The decoded answer (special tokens skipped).</param>
    /// <param name="imageWidth">Screenshot width in pixels.</param>
    /// <param name="imageHeight">Screenshot height in pixels.</param>
    /// <param name="markBoxes">Mark id → normalised box of the Set-of-Mark candidates shown to the model, if any.</param>
    /// <exception cref="MagmaInputException">The image size is not positive.</exception>
    public static DecodeResult<UiTarget> ParseTarget(
        string text, int imageWidth, int imageHeight, IReadOnlyDictionary<int, NormalizedBox>? markBoxes = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (imageWidth <= 0 || imageHeight <= 0)
        {
            throw new MagmaInputException(
                $"ParseTarget(imageWidth, imageHeight): the screenshot size must be positive, got {imageWidth}×{imageHeight}; pass the size of the image the model saw.");
        }

        if (text.Length > MaxAnswerLength)
        {
            return DecodeResult.Failure<UiTarget>($"answer is {text.Length} characters, more than the {MaxAnswerLength} accepted", text);
        }

        // Rule 1: the first "Mark: <digits>".
        int? mark = null;
        string? markProblem = null;
        if (TryFindFirstMark(text, out int foundMark, out bool overflow, out string? digits))
        {
            if (overflow)
            {
                markProblem = $"mark {JsonSnippet.Shorten(digits!)} is out of range";
            }
            else
            {
                mark = foundMark;
                if (markBoxes is not null && markBoxes.TryGetValue(foundMark, out NormalizedBox box))
                {
                    return Target(text, mark, box.Center, box, UiTargetRule.MarkLookup, imageWidth, imageHeight);
                }

                markProblem = markBoxes is null
                    ? $"Mark {foundMark} was named but no mark boxes were supplied"
                    : $"Mark {foundMark} is not among the {markBoxes.Count} supplied marks";
            }
        }

        // Rule 2: Qwen-VL style box.
        if (text.Contains("<box>", StringComparison.Ordinal))
        {
            if (!TryFindQwenBox(text, out NormalizedBox qwenBox, out string? boxProblem))
            {
                return DecodeResult.Failure<UiTarget>(boxProblem!, text);
            }

            return Target(text, mark, qwenBox.Center, qwenBox, UiTargetRule.QwenBox, imageWidth, imageHeight);
        }

        // Rule 3: the first (x, y) or (x1, y1, x2, y2) tuple.
        Span<double> tuple = stackalloc double[4];
        int searchFrom = 0;
        while (TryReadNextTuple(text, ref searchFrom, tuple, out int count))
        {
            if (count is 2 or 4)
            {
                return FromNumbers(text, mark, tuple[..count], UiTargetRule.CoordinateTuple, imageWidth, imageHeight);
            }
        }

        // Rule 4: every number in the text.
        Span<double> numbers = stackalloc double[MaxNumbers];
        int n = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (TextScan.StartsWith(text, i, MarkKeyword))
            {
                // A mark id is not a coordinate (the demo counts it, and then fails on "Mark: 7, 0.5 0.5").
                int digitsAt = TextScan.SkipWhitespace(text, i + MarkKeyword.Length);
                i = TextScan.TryReadNonNegativeInt(text, digitsAt, out _, out int markEnd, out _) ? markEnd : digitsAt;
                continue;
            }

            if (!TextScan.TryReadDecimal(text, i, out double value, out int end, out bool tooLong))
            {
                i++;
                continue;
            }

            if (tooLong)
            {
                return DecodeResult.Failure<UiTarget>($"number at offset {i} is longer than {TextScan.MaxNumberLength} characters", text);
            }

            if (n == MaxNumbers)
            {
                return DecodeResult.Failure<UiTarget>($"more than {MaxNumbers} numbers in the answer", text);
            }

            numbers[n++] = value;
            i = end;
        }

        if (n is 2 or 4)
        {
            return FromNumbers(text, mark, numbers[..n], UiTargetRule.AllNumbers, imageWidth, imageHeight);
        }

        string why = n == 0 ? "no coordinates in the answer" : $"found {n} numbers; expected 2 (x, y) or 4 (x1, y1, x2, y2)";
        return DecodeResult.Failure<UiTarget>(markProblem is null ? why : $"{markProblem} and {why}", text);
    }

    /// <summary>
    /// Parses a pretraining-style answer: one or more of <c>Coordinate: (x, y)</c>, <c>Coordinate: (x1, y1, x2, y2)</c>,
    /// the bare helper form <c>(0.54,0.88)</c>, <c>Text: …</c>, each optionally followed by <c>Mark: N</c>, separated by
    /// periods; or <c>No input areas found.</c>
    /// </summary>
    /// <param name="text">The decoded answer.</param>
    public static DecodeResult<UiAnswerSet> ParseAnswers(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxAnswerLength)
        {
            return DecodeResult.Failure<UiAnswerSet>($"answer is {text.Length} characters, more than the {MaxAnswerLength} accepted", text);
        }

        var answers = new List<UiAnswer>();
        bool noInputAreas = false;
        Span<double> tuple = stackalloc double[4];
        for (int i = SkipSeparators(text, 0); i < text.Length; i = SkipSeparators(text, i))
        {
            string? problem;
            if (TextScan.StartsWith(text, i, NoInputAreas))
            {
                noInputAreas = true;
                i += NoInputAreas.Length;
                continue;
            }

            if (TextScan.StartsWith(text, i, CoordinateKeyword) || text[i] == '(')
            {
                problem = ReadCoordinateAnswer(text, ref i, tuple, answers);
            }
            else if (TextScan.StartsWith(text, i, TextKeyword))
            {
                problem = ReadTextAnswer(text, ref i, answers);
            }
            else if (TextScan.StartsWith(text, i, MarkKeyword))
            {
                problem = ReadMarkAnswer(text, ref i, answers);
            }
            else
            {
                problem = $"unexpected text at offset {i}: \"{JsonSnippet.Shorten(text[i..])}\"";
            }

            if (problem is not null)
            {
                return DecodeResult.Failure<UiAnswerSet>(problem, text);
            }
        }

        if (noInputAreas && answers.Count > 0)
        {
            return DecodeResult.Failure<UiAnswerSet>("the answer says 'No input areas found' and also gives targets", text);
        }

        if (!noInputAreas && answers.Count == 0)
        {
            return DecodeResult.Failure<UiAnswerSet>("no answer found", text);
        }

        return DecodeResult.Success(new UiAnswerSet(answers, noInputAreas), text);
    }

    /// <summary>Whitespace and the separators between answers ('.', ',', ';').</summary>
    private static int SkipSeparators(string text, int i)
    {
        while (i < text.Length && (char.IsWhiteSpace(text[i]) || text[i] is '.' or ',' or ';'))
        {
            i++;
        }

        return i;
    }

    /// <summary>
    /// <c>Coordinate: (x, y)</c>, <c>Coordinate: (x1, y1, x2, y2)</c> or a bare tuple at <paramref name="i"/>, normalised,
    /// with an optional <c>Mark: N</c>; adds a point or box answer and moves <paramref name="i"/> past it.
    /// </summary>
    /// <returns>Null, or why the answer is rejected.</returns>
    private static string? ReadCoordinateAnswer(string text, ref int i, Span<double> tuple, List<UiAnswer> answers)
    {
        int tupleStart = text[i] == '(' ? i : TextScan.SkipWhitespace(text, i + CoordinateKeyword.Length);
        if (!TryReadTupleAt(text, tupleStart, tuple, out int count, out int end, out string? tupleProblem))
        {
            return tupleProblem!;
        }

        if (count is not (2 or 4))
        {
            return $"coordinate at offset {tupleStart} has {count} numbers; expected 2 or 4";
        }

        string? rangeProblem = CheckNormalized(tuple[..count]);
        if (rangeProblem is not null)
        {
            return rangeProblem;
        }

        i = end;
        int? answerMark = TryReadFollowingMark(text, ref i, out string? markProblem);
        if (markProblem is not null)
        {
            return markProblem;
        }

        if (count == 2)
        {
            answers.Add(new UiAnswer(UiAnswerKind.Point, new NormalizedPoint(tuple[0], tuple[1]), null, null, answerMark));
        }
        else
        {
            var box = new NormalizedBox(tuple[0], tuple[1], tuple[2], tuple[3]);
            answers.Add(new UiAnswer(UiAnswerKind.Box, box.Center, box, null, answerMark));
        }

        return null;
    }

    /// <summary><c>Text: …</c> up to the next answer, with an optional <c>Mark: N</c>.</summary>
    /// <returns>Null, or why the answer is rejected.</returns>
    private static string? ReadTextAnswer(string text, ref int i, List<UiAnswer> answers)
    {
        int start = i + TextKeyword.Length;
        int stop = IndexOfEarliest(text, start);
        string value = text[start..stop].Trim().TrimEnd('.').TrimEnd();
        i = stop;
        int? answerMark = TryReadFollowingMark(text, ref i, out string? markProblem);
        if (markProblem is not null)
        {
            return markProblem;
        }

        answers.Add(new UiAnswer(UiAnswerKind.Text, null, null, value, answerMark));
        return null;
    }

    /// <summary>A bare <c>Mark: N</c>.</summary>
    /// <returns>Null, or why the answer is rejected.</returns>
    private static string? ReadMarkAnswer(string text, ref int i, List<UiAnswer> answers)
    {
        int? bareMark = TryReadFollowingMark(text, ref i, out string? markProblem);
        if (markProblem is not null || bareMark is null)
        {
            return markProblem ?? $"'Mark:' at offset {i} has no number";
        }

        answers.Add(new UiAnswer(UiAnswerKind.Mark, null, null, null, bareMark));
        return null;
    }

    /// <summary>
    /// Parses an AITW mobile action from the first JSON object in the answer: <c>{"TAP": {"MARK": 11}}</c>,
    /// <c>{"TAP": {"NORMALIZED_COORDINATE": [y, x]}}</c> (y first; the <c>"Coordinate"</c> key seen in the paper is read
    /// the same way), <c>{"SWIPE": "UP"}</c>, <c>{"NAVIGATE": "BACK"}</c>, <c>{"TYPE": "text"}</c>,
    /// <c>{"SET_TASK_STATUS": "COMPLETE"}</c>. Keys and enum values are matched case-insensitively.
    /// </summary>
    /// <param name="text">The decoded answer; prose around the JSON is ignored.</param>
    public static DecodeResult<MobileAction> ParseMobileAction(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxAnswerLength)
        {
            return DecodeResult.Failure<MobileAction>($"answer is {text.Length} characters, more than the {MaxAnswerLength} accepted", text);
        }

        using JsonDocument? document = JsonSnippet.TryParseFirstObject(text, out string? reason);
        if (document is null)
        {
            return DecodeResult.Failure<MobileAction>(reason!, text);
        }

        JsonElement root = document.RootElement;
        int propertyCount = root.EnumerateObject().Count();
        if (propertyCount != 1)
        {
            return DecodeResult.Failure<MobileAction>($"expected exactly one action key (TAP, SWIPE, NAVIGATE, TYPE, SET_TASK_STATUS), found {propertyCount}", text);
        }

        JsonProperty action = root.EnumerateObject().First();
        MobileAction? parsed = action.Name.ToUpperInvariant() switch
        {
            "TAP" => ParseTap(action.Value, out reason),
            "SWIPE" => ParseEnum(action.Value, "SWIPE", out SwipeDirection direction, out reason) ? new MobileSwipe(direction) : null,
            "NAVIGATE" => ParseEnum(action.Value, "NAVIGATE", out NavigationKey key, out reason) ? new MobileNavigate(key) : null,
            "TYPE" => action.Value.ValueKind == JsonValueKind.String
                ? new MobileType(action.Value.GetString()!)
                : Null(out reason, $"TYPE must be a string, found {action.Value.ValueKind}"),
            "SET_TASK_STATUS" => ParseEnum(action.Value, "SET_TASK_STATUS", out TaskCompletion status, out reason) ? new MobileSetTaskStatus(status) : null,
            _ => Null(out reason, $"unknown action key \"{JsonSnippet.Shorten(action.Name)}\"; expected TAP, SWIPE, NAVIGATE, TYPE or SET_TASK_STATUS"),
        };

        return parsed is null ? DecodeResult.Failure<MobileAction>(reason!, text) : DecodeResult.Success(parsed, text);
    }

    /// <summary>
    /// Parses a Mind2Web step from the first JSON object in the answer:
    /// <c>{"ACTION": "CLICK" | "TYPE" | "SELECT", "MARK": n, "VALUE": "…"}</c> (VALUE optional). Keys and the
    /// operation are matched case-insensitively.
    /// </summary>
    /// <param name="text">The decoded answer; prose around the JSON is ignored.</param>
    public static DecodeResult<WebAction> ParseWebAction(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxAnswerLength)
        {
            return DecodeResult.Failure<WebAction>($"answer is {text.Length} characters, more than the {MaxAnswerLength} accepted", text);
        }

        using JsonDocument? document = JsonSnippet.TryParseFirstObject(text, out string? reason);
        if (document is null)
        {
            return DecodeResult.Failure<WebAction>(reason!, text);
        }

        JsonElement root = document.RootElement;
        if (!JsonSnippet.TryGetProperty(root, "ACTION", out JsonElement actionValue))
        {
            return DecodeResult.Failure<WebAction>("missing \"ACTION\"", text);
        }

        if (!ParseEnum(actionValue, "ACTION", out WebOperation operation, out reason))
        {
            return DecodeResult.Failure<WebAction>(reason!, text);
        }

        if (!JsonSnippet.TryGetProperty(root, "MARK", out JsonElement markValue))
        {
            return DecodeResult.Failure<WebAction>("missing \"MARK\"", text);
        }

        if (!JsonSnippet.TryGetMark(markValue, out int mark, out reason))
        {
            return DecodeResult.Failure<WebAction>(reason!, text);
        }

        string? value = null;
        if (JsonSnippet.TryGetProperty(root, "VALUE", out JsonElement valueElement) && valueElement.ValueKind != JsonValueKind.Null)
        {
            if (valueElement.ValueKind != JsonValueKind.String)
            {
                return DecodeResult.Failure<WebAction>($"VALUE must be a string, found {valueElement.ValueKind}", text);
            }

            value = valueElement.GetString();
        }

        return DecodeResult.Success(new WebAction(operation, mark, value), text);
    }

    private static MobileAction? ParseTap(JsonElement value, out string? reason)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return Null(out reason, $"TAP must be an object with MARK or NORMALIZED_COORDINATE, found {value.ValueKind}");
        }

        if (JsonSnippet.TryGetProperty(value, "MARK", out JsonElement markValue))
        {
            return JsonSnippet.TryGetMark(markValue, out int mark, out reason) ? new MobileTapMark(mark) : null;
        }

        if (JsonSnippet.TryGetProperty(value, "NORMALIZED_COORDINATE", out JsonElement coordinate) ||
            JsonSnippet.TryGetProperty(value, "Coordinate", out coordinate))
        {
            if (coordinate.ValueKind != JsonValueKind.Array || coordinate.GetArrayLength() != 2)
            {
                return Null(out reason, "TAP coordinate must be an array [y, x] of two numbers");
            }

            Span<double> yx = stackalloc double[2];
            int k = 0;
            foreach (JsonElement item in coordinate.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out yx[k]))
                {
                    return Null(out reason, $"TAP coordinate item {item.GetRawText()} is not a number");
                }

                k++;
            }

            string? rangeProblem = CheckNormalized(yx);
            if (rangeProblem is not null)
            {
                return Null(out reason, rangeProblem);
            }

            reason = null;
            return new MobileTapPoint(new NormalizedPoint(yx[1], yx[0]));
        }

        return Null(out reason, "TAP needs MARK or NORMALIZED_COORDINATE");
    }

    private static bool ParseEnum<TEnum>(JsonElement value, string key, out TEnum result, out string? reason)
        where TEnum : struct, Enum
    {
        result = default;
        if (value.ValueKind != JsonValueKind.String)
        {
            reason = $"{key} must be a string, found {value.ValueKind}";
            return false;
        }

        string s = value.GetString()!;
        foreach (TEnum candidate in Enum.GetValues<TEnum>())
        {
            if (string.Equals(candidate.ToString(), s, StringComparison.OrdinalIgnoreCase))
            {
                result = candidate;
                reason = null;
                return true;
            }
        }

        reason = $"{key} value \"{JsonSnippet.Shorten(s)}\" is not one of {string.Join(", ", Enum.GetNames<TEnum>().Select(n => n.ToUpperInvariant()))}";
        return false;
    }

    private static MobileAction? Null(out string? reason, string message)
    {
        reason = message;
        return null;
    }

    private static DecodeResult<UiTarget> FromNumbers(
        string text, int? mark, ReadOnlySpan<double> values, UiTargetRule rule, int width, int height)
    {
        string? problem = CheckNormalized(values);
        if (problem is not null)
        {
            return DecodeResult.Failure<UiTarget>(problem, text);
        }

        if (values.Length == 2)
        {
            return Target(text, mark, new NormalizedPoint(values[0], values[1]), null, rule, width, height);
        }

        var box = new NormalizedBox(values[0], values[1], values[2], values[3]);
        return Target(text, mark, box.Center, box, rule, width, height);
    }

    private static DecodeResult<UiTarget> Target(
        string text, int? mark, NormalizedPoint point, NormalizedBox? box, UiTargetRule rule, int width, int height) =>
        DecodeResult.Success(new UiTarget(mark, point, box, new PixelPoint(point.X * width, point.Y * height), rule), text);

    /// <summary>Values must be finite and in [0, 1]; 4 values are a box whose corners must be ordered.</summary>
    private static string? CheckNormalized(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
        {
            if (!double.IsFinite(v) || v < 0 || v > 1)
            {
                return $"coordinate {TextScan.Format(v)} is outside [0, 1]";
            }
        }

        if (values.Length == 4 && (values[0] > values[2] || values[1] > values[3]))
        {
            return $"box ({TextScan.Format(values[0])}, {TextScan.Format(values[1])}, {TextScan.Format(values[2])}, {TextScan.Format(values[3])}) has its corners out of order";
        }

        return null;
    }

    private static bool TryFindFirstMark(string text, out int mark, out bool overflow, out string? digits)
    {
        int from = 0;
        while (true)
        {
            int at = text.IndexOf(MarkKeyword, from, StringComparison.Ordinal);
            if (at < 0)
            {
                mark = 0;
                overflow = false;
                digits = null;
                return false;
            }

            int p = TextScan.SkipWhitespace(text, at + MarkKeyword.Length);
            if (TextScan.TryReadNonNegativeInt(text, p, out mark, out int end, out overflow))
            {
                digits = text[p..end];
                return true;
            }

            from = at + MarkKeyword.Length;
        }
    }

    /// <summary>Reads an optional "Mark: N" (after optional separators) following an answer.</summary>
    private static int? TryReadFollowingMark(string text, ref int i, out string? problem)
    {
        problem = null;
        int p = i;
        while (p < text.Length && (char.IsWhiteSpace(text[p]) || text[p] is '.' or ','))
        {
            p++;
        }

        if (!TextScan.StartsWith(text, p, MarkKeyword))
        {
            return null;
        }

        int digitsAt = TextScan.SkipWhitespace(text, p + MarkKeyword.Length);
        if (!TextScan.TryReadNonNegativeInt(text, digitsAt, out int mark, out int end, out bool overflow))
        {
            problem = $"'Mark:' at offset {p} is not followed by a number";
            return null;
        }

        if (overflow)
        {
            problem = $"mark {JsonSnippet.Shorten(text[digitsAt..end])} is out of range";
            return null;
        }

        i = end;
        return mark;
    }

    /// <summary>Where a "Text:" answer ends: at the next keyword or the end of the text.</summary>
    private static int IndexOfEarliest(string text, int start)
    {
        int stop = text.Length;
        foreach (string keyword in (ReadOnlySpan<string>)[MarkKeyword, CoordinateKeyword, TextKeyword])
        {
            int at = text.IndexOf(keyword, start, StringComparison.Ordinal);
            if (at >= 0 && at < stop)
            {
                stop = at;
            }
        }

        return stop;
    }

    /// <summary>Finds the next '(' from <paramref name="from"/> that starts a well-formed tuple of up to 4 numbers.</summary>
    private static bool TryReadNextTuple(string text, ref int from, Span<double> values, out int count)
    {
        while (from < text.Length)
        {
            int open = text.IndexOf('(', from);
            if (open < 0)
            {
                break;
            }

            from = open + 1;
            if (TryReadTupleAt(text, open, values, out count, out int end, out _))
            {
                from = end;
                return true;
            }
        }

        from = text.Length;
        count = 0;
        return false;
    }

    /// <summary>Reads "( n , n [, n, n] )" at <paramref name="open"/>; at most 4 numbers fit.</summary>
    private static bool TryReadTupleAt(string text, int open, Span<double> values, out int count, out int end, out string? problem)
    {
        count = 0;
        end = open;
        if (open >= text.Length || text[open] != '(')
        {
            problem = $"expected '(' at offset {open}";
            return false;
        }

        int p = open + 1;
        while (true)
        {
            p = TextScan.SkipWhitespace(text, p);
            if (!TextScan.TryReadDecimal(text, p, out double v, out int numberEnd, out bool tooLong) || tooLong)
            {
                problem = tooLong
                    ? $"number at offset {p} is longer than {TextScan.MaxNumberLength} characters"
                    : $"expected a number at offset {p}";
                return false;
            }

            if (count == values.Length)
            {
                problem = $"tuple at offset {open} has more than {values.Length} numbers";
                return false;
            }

            values[count++] = v;
            p = TextScan.SkipWhitespace(text, numberEnd);
            if (p < text.Length && text[p] == ',')
            {
                p++;
                continue;
            }

            if (p < text.Length && text[p] == ')')
            {
                end = p + 1;
                problem = null;
                return true;
            }

            problem = $"expected ',' or ')' at offset {p}";
            return false;
        }
    }

    private static bool TryFindQwenBox(string text, out NormalizedBox box, out string? problem)
    {
        int from = 0;
        while (true)
        {
            int at = text.IndexOf("<box>", from, StringComparison.Ordinal);
            if (at < 0)
            {
                box = default;
                problem = "the answer has <box> but no <box>(x1,y1),(x2,y2)</box> with integer corners";
                return false;
            }

            from = at + 5;
            int p = from;
            Span<int> corners = stackalloc int[4];
            bool ok = Expect(text, ref p, '(') && ReadCorner(text, ref p, corners, 0) && Expect(text, ref p, ')') &&
                      Expect(text, ref p, ',') && Expect(text, ref p, '(') && ReadCorner(text, ref p, corners, 2) &&
                      Expect(text, ref p, ')') && TextScan.StartsWith(text, p, "</box>");
            if (!ok)
            {
                continue;
            }

            foreach (int c in corners)
            {
                if (c > 1000)
                {
                    box = default;
                    problem = $"box corner {c.ToString(CultureInfo.InvariantCulture)} is outside 0…1000";
                    return false;
                }
            }

            box = new NormalizedBox(corners[0] / 1000.0, corners[1] / 1000.0, corners[2] / 1000.0, corners[3] / 1000.0);
            problem = null;
            return true;
        }
    }

    private static bool Expect(string text, ref int p, char c)
    {
        if (p < text.Length && text[p] == c)
        {
            p++;
            return true;
        }

        return false;
    }

    private static bool ReadCorner(string text, ref int p, Span<int> corners, int index)
    {
        if (!TextScan.TryReadNonNegativeInt(text, p, out corners[index], out int end, out bool overflow) || overflow)
        {
            return false;
        }

        p = end;
        if (!Expect(text, ref p, ','))
        {
            return false;
        }

        if (!TextScan.TryReadNonNegativeInt(text, p, out corners[index + 1], out end, out overflow) || overflow)
        {
            return false;
        }

        p = end;
        return true;
    }
}
