using System.Globalization;
using System.Text.RegularExpressions;
using Magma.Plugins.Web.Grounding;
using Magma.Plugins.Web.Observation;
using Magma.Tasks.Marks;
using static Magma.Plugins.Web.Evaluation.OracleView;

namespace Magma.Plugins.Web.Evaluation;

/// <summary>
/// Scripted oracles for the MiniWoB++ development tasks whose steps depend on what the page shows (issue 17's set). Each
/// reads the goal text, then the marks and visible text of each observation, and acts only through marks and the
/// session's actions: nothing is read from the page's DOM or scripts. Where a script picks an icon by position (the
/// first control under a post) it does what a person who knows the icons does.
/// </summary>
internal static partial class MiniWobOracles
{
    private static readonly string[] Months = CultureInfo.InvariantCulture.DateTimeFormat.MonthNames[..12];

    /// <summary>The script for a task, or null when the task has none (fixed steps or no oracle).</summary>
    public static Func<IWebPolicy>? Script(string task, string goal)
    {
        Func<OracleView, IEnumerable<WebDecision>>? body = task switch
        {
            "click-menu-2" => v => ClickMenu(v, goal),
            "click-collapsible-2" => v => ClickCollapsible(v, goal),
            "choose-date" => v => ChooseDate(v, goal),
            "use-slider" => v => UseSlider(v, goal),
            "drag-items" => v => DragItems(v, goal),
            "login-user-popup" => v => LoginPopup(v, goal),
            "email-inbox-forward-nl" => v => ForwardEmail(v, goal),
            "social-media" => v => SocialMedia(v, goal),
            "multi-layouts" => v => MultiLayouts(v, goal),
            "book-flight" => v => BookFlight(v, goal),
            "click-tab-2-hard" => v => ClickTab(v, goal),
            "read-table" => v => ReadTable(v, goal),
            "form-sequence" => v => FormSequence(v, goal),
            "order-food" => v => OrderFood(v, goal),
            "phone-book" => v => PhoneBook(v, goal),
            _ => null,
        };
        return body is null ? null : () => new ScriptedOracle(body);
    }

    private static string[] Quoted(string goal) => [.. QuotedRx().Matches(goal).Select(m => m.Groups[1].Value)];

    private static (double X, double Y) Centre(MarkBox b) => (b.X + (b.Width / 2), b.Y + (b.Height / 2));

    private static double Distance(MarkBox a, MarkBox b)
    {
        (double ax, double ay) = Centre(a);
        (double bx, double by) = Centre(b);
        return Math.Sqrt(((ax - bx) * (ax - bx)) + ((ay - by) * (ay - by)));
    }

    private static WebDecision DragTo(WebMark m, double cssX, double cssY, float dsf) =>
        new() { Kind = WebDecisionKind.Drag, Mark = m.Id, ToPoint = (cssX * dsf, cssY * dsf) };

    // ---- click-menu-2: open the menu, open "Playback" by hovering when the item is in its submenu.
    private static IEnumerable<WebDecision> ClickMenu(OracleView v, string goal)
    {
        Match label = LabeledRx().Match(goal);
        yield return Click(v.Mark("Menu", "button"), "Menu");
        if (!label.Success)
        {
            // "…the item with the [icon] icon": the goal shows a picture between its words. Compare it, as a person would,
            // with the icons at the left of the menu's items (those of the submenu too, once it is open).
            float[]? wanted = GoalIcon(v);
            if (wanted is null)
            {
                yield return Fail("no icon found in the goal");
                yield break;
            }

            var scores = new Dictionary<string, double>(StringComparer.Ordinal);
            var aspects = new Dictionary<string, float>(StringComparer.Ordinal);
            void Score()
            {
                foreach (WebMark m in v.Obs.Marks.Where(m => m.Role == "menuitem" && !m.States.Contains("disabled") && m.Name != "Playback"))
                {
                    if (ItemIcon(v.Obs, m) is { } icon)
                    {
                        scores[m.Name] = Compare(wanted, icon);
                        aspects[m.Name] = icon[^1];
                    }
                }
            }

            Score();
            yield return Hover(v.Mark("Playback"), "Playback");
            Score();
            string? bestName = scores.Count == 0 ? null : scores.MinBy(kv => kv.Value).Key;
            WebMark? best = bestName is null ? null : v.Mark(bestName);
            if (best is null && bestName is not null)
            {
                // A top-level item under the open submenu: close it first.
                yield return Press("Escape");
                best = v.Mark(bestName);
            }

            yield return Click(best, "item with the goal's icon") with
            {
                Note = $"goal icon aspect {wanted[^1]:0.00}; icon distances: " + string.Join(", ", scores.OrderBy(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:0.0} ({aspects[kv.Key]:0.00})")),
            };
            yield break;
        }

        string want = label.Groups[1].Value;
        WebMark? item = v.Marks(want).FirstOrDefault(m => m.Role != "button");
        if (item is null)
        {
            yield return Hover(v.Mark("Playback"), "Playback");
            item = v.Marks(want).FirstOrDefault(m => m.Role != "button");
        }

        yield return Click(item, want);
    }

    // The goal's icon: the picture in the gap between the goal's words "with the" and "icon", as an ink mask.
    private static float[]? GoalIcon(OracleView v)
    {
        IReadOnlyList<WebText> t = v.Obs.Texts;
        int i = 0;
        while (i + 1 < t.Count && !(t[i].Text.EndsWith("with the", StringComparison.Ordinal) && t[i + 1].Text.StartsWith("icon", StringComparison.Ordinal)))
        {
            i++;
        }

        if (i + 1 >= t.Count)
        {
            return null;
        }

        MarkBox a = t[i].CssBox, b = t[i + 1].CssBox;
        MarkBox[] gaps = Math.Abs(a.Y - b.Y) < 4
            ? [new MarkBox(a.Right, b.Y - 4, b.X - a.Right, b.Height + 8)]
            : [new MarkBox(0, b.Y - 4, b.X, b.Height + 8), new MarkBox(a.Right, a.Y - 4, v.Obs.ViewportWidth - a.Right, a.Height + 8)];
        return gaps.Select(g => InkGlyph(v.Obs, Scale(g, v.Obs.DeviceScaleFactor), leftmost: false)).FirstOrDefault(g => g is not null);
    }

    // An item's icon: the leftmost glyph inside its box.
    private static float[]? ItemIcon(WebObservation obs, WebMark m) => InkGlyph(obs, m.PixelBox, leftmost: true);

    private static MarkBox Scale(MarkBox b, float dsf) => new(b.X * dsf, b.Y * dsf, b.Width * dsf, b.Height * dsf);

    // The ink (pixels unlike the region's commonest colour) of a region, or of its leftmost blob of columns, cropped to its
    // bounds and resampled to a 16×16 grid (an icon's own CSS pixels) of ink fractions. Null when the region has no ink.
    private static float[]? InkGlyph(WebObservation obs, MarkBox region, bool leftmost)
    {
        Magma.Inference.Imaging.RgbImage img = obs.Screenshot;
        int x0 = Math.Clamp((int)region.X, 0, img.Width - 1), y0 = Math.Clamp((int)region.Y, 0, img.Height - 1);
        int x1 = Math.Clamp((int)region.Right, x0 + 1, img.Width), y1 = Math.Clamp((int)region.Bottom, y0 + 1, img.Height);
        ReadOnlySpan<byte> px = img.Span;
        var counts = new Dictionary<int, int>();
        for (int y = y0; y < y1; y++)
        {
            for (int x = x0; x < x1; x++)
            {
                int o = ((y * img.Width) + x) * 3;
                int key = ((px[o] >> 4) << 8) | ((px[o + 1] >> 4) << 4) | (px[o + 2] >> 4);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }

        int bg = counts.MaxBy(kv => kv.Value).Key;
        int br = ((bg >> 8) << 4) + 8, bgG = (((bg >> 4) & 15) << 4) + 8, bb = ((bg & 15) << 4) + 8;
        int w = x1 - x0, h = y1 - y0;
        bool[] ink = new bool[w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int o = (((y + y0) * img.Width) + x + x0) * 3;
                ink[(y * w) + x] = Math.Max(Math.Abs(px[o] - br), Math.Max(Math.Abs(px[o + 1] - bgG), Math.Abs(px[o + 2] - bb))) > 70;
            }
        }

        // Lines across the region (a border the box overlaps, an underline) are not glyphs.
        for (int y = 0; y < h; y++)
        {
            int n = 0;
            for (int x = 0; x < w; x++) { n += ink[(y * w) + x] ? 1 : 0; }
            if (n > 0.6 * w) { for (int x = 0; x < w; x++) { ink[(y * w) + x] = false; } }
        }

        for (int x = 0; x < w; x++)
        {
            int n = 0;
            for (int y = 0; y < h; y++) { n += ink[(y * w) + x] ? 1 : 0; }
            if (n > 0.9 * h) { for (int y = 0; y < h; y++) { ink[(y * w) + x] = false; } }
        }

        bool Column(int x) { for (int y = 0; y < h; y++) { if (ink[(y * w) + x]) { return true; } } return false; }
        int left = 0;
        while (left < w && !Column(left)) { left++; }
        if (left == w) { return null; }

        int right = w - 1;
        if (leftmost)
        {
            // The blob ends at a blank gap wider than the glyph's own gaps (two CSS px).
            int gap = (int)Math.Ceiling(2 * obs.DeviceScaleFactor), blank = 0;
            right = left;
            for (int x = left; x < w && blank <= gap; x++)
            {
                if (Column(x)) { right = x; blank = 0; } else { blank++; }
            }
        }
        else
        {
            while (!Column(right)) { right--; }
        }

        int top = h, bottom = -1;
        for (int y = 0; y < h; y++)
        {
            for (int x = left; x <= right; x++)
            {
                if (ink[(y * w) + x]) { top = Math.Min(top, y); bottom = Math.Max(bottom, y); }
            }
        }

        const int N = 16;
        float[] grid = new float[(N * N) + 1];
        int gw = right - left + 1, gh = bottom - top + 1;
        for (int y = top; y <= bottom; y++)
        {
            for (int x = left; x <= right; x++)
            {
                if (ink[(y * w) + x])
                {
                    grid[(Math.Min(N - 1, (y - top) * N / gh) * N) + Math.Min(N - 1, (x - left) * N / gw)] += 1f * N * N / (gw * gh);
                }
            }
        }

        grid[N * N] = (float)gw / gh; // the glyph's shape, beside its ink
        return grid;
    }

    private static double Compare(float[] a, float[] b)
    {
        double d = 0;
        for (int i = 0; i < a.Length - 1; i++)
        {
            // Squared: a stroke that one glyph has and the other lacks (zoom in's "+" against zoom out's "−") outweighs the
            // small differences of anti-aliasing spread over every cell.
            d += (a[i] - b[i]) * (a[i] - b[i]);
        }

        return d + (20 * Math.Abs(Math.Log(a[^1] / b[^1])));
    }

    // ---- click-collapsible-2: open sections one by one until the word shows as a mark.
    private static IEnumerable<WebDecision> ClickCollapsible(OracleView v, string goal)
    {
        string want = Quoted(goal).FirstOrDefault() ?? "";
        var opened = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 8; i++)
        {
            WebMark? hit = v.Marks(want).FirstOrDefault(m => m.Role != "tab");
            if (hit is not null)
            {
                yield return Click(hit, want);
                yield break;
            }

            WebMark? tab = v.Marks("", "tab").FirstOrDefault(t => !opened.Contains(t.Name));
            if (tab is null)
            {
                break;
            }

            opened.Add(tab.Name);
            yield return Click(tab, tab.Name);
            if (v.Marks(want).All(m => m.Role == "tab"))
            {
                // The section may run past the bottom of the small viewport.
                yield return Scroll("down");
                if (v.Marks(want).FirstOrDefault(m => m.Role != "tab") is { } below)
                {
                    yield return Click(below, want);
                    yield break;
                }

                yield return Scroll("up");
            }
        }

        yield return Fail($"no link \"{want}\" in any section");
    }

    // ---- date pickers (choose-date, book-flight): open the calendar, page to the month, click the day.
    private static IEnumerable<WebDecision> PickDate(OracleView v, WebMark? field, DateTime date)
    {
        yield return Click(field, "date field");
        for (int i = 0; i < 30; i++)
        {
            int month = -1, year = -1;
            foreach (WebText t in v.Obs.Texts)
            {
                int mi = Array.FindIndex(Months, m => string.Equals(m, t.Text, StringComparison.OrdinalIgnoreCase));
                if (mi >= 0)
                {
                    month = mi + 1;
                }
                else if (month > 0 && year < 0 && int.TryParse(t.Text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int y) && y > 1900)
                {
                    year = y;
                }
            }

            if (month < 0 || year < 0)
            {
                yield return Fail("no calendar month shown");
                yield break;
            }

            int diff = ((date.Year - year) * 12) + (date.Month - month);
            if (diff == 0)
            {
                break;
            }

            yield return Click(v.Mark(diff < 0 ? "Prev" : "Next"), diff < 0 ? "Prev" : "Next");
        }

        yield return Click(v.Marks(date.Day.ToString(CultureInfo.InvariantCulture), "link").FirstOrDefault(), "day " + date.Day);
    }

    private static IEnumerable<WebDecision> ChooseDate(OracleView v, string goal)
    {
        Match d = DateRx().Match(goal);
        var date = new DateTime(int.Parse(d.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(d.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(d.Groups[2].Value, CultureInfo.InvariantCulture));
        foreach (WebDecision s in PickDate(v, v.Mark("", "textbox"), date))
        {
            yield return s;
        }

        yield return Click(v.Mark("Submit"), "Submit");
    }

    // ---- sliders without ARIA (jQuery UI): the handle is a slider mark with the widget's value, so set_value moves it by
    // keyboard; checked against the number shown next to the slider. Should it carry no number (a position in percent),
    // by hand: focus the handle, Home/End to learn the ends, drag to the interpolated spot, then arrow keys.
    private static WebMark? Handle(OracleView v) => v.Marks("", "slider").FirstOrDefault() ?? v.Marks("/slider/").FirstOrDefault();

    private static int? ShownValue(OracleView v, WebMark handle) =>
        v.PageTexts.Where(t => IntRx().IsMatch(t.Text))
            .OrderBy(t => Distance(t.CssBox, handle.CssBox))
            .Select(t => (int?)int.Parse(t.Text, CultureInfo.InvariantCulture)).FirstOrDefault();

    private static IEnumerable<WebDecision> Slide(OracleView v, int target)
    {
        if (Handle(v) is { Role: "slider" } handle && int.TryParse(handle.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
        {
            yield return SetValue(handle, target.ToString(CultureInfo.InvariantCulture), "slider");
            if (Handle(v) is { } after && ShownValue(v, after) == target)
            {
                yield break;
            }
        }

        yield return Click(Handle(v), "slider handle");
        yield return Press("Home");
        WebMark? h = Handle(v);
        if (h is null || ShownValue(v, h) is not int lo)
        {
            yield return Fail("no slider value shown");
            yield break;
        }

        (double lx, double ly) = Centre(h.CssBox);
        yield return Press("End");
        h = Handle(v);
        if (h is null || ShownValue(v, h) is not int hi || hi == lo)
        {
            yield return Fail("slider did not move");
            yield break;
        }

        (double hx, double hy) = Centre(h.CssBox);
        for (int round = 0; round < 3; round++)
        {
            h = Handle(v)!;
            int now = ShownValue(v, h) ?? lo;
            if (now == target)
            {
                yield break;
            }

            if (Math.Abs(now - target) <= 4)
            {
                for (int k = 0; k < Math.Abs(now - target); k++)
                {
                    yield return Press(now < target ? "ArrowRight" : "ArrowLeft");
                }

                continue;
            }

            double f = (double)(target - lo) / (hi - lo);
            yield return DragTo(h, lx + (f * (hx - lx)), ly + (f * (hy - ly)), v.Obs.DeviceScaleFactor);
        }
    }

    private static IEnumerable<WebDecision> UseSlider(OracleView v, string goal)
    {
        int n = int.Parse(SelectNRx().Match(goal).Groups[1].Value, CultureInfo.InvariantCulture);
        foreach (WebDecision s in Slide(v, n))
        {
            yield return s;
        }

        yield return Click(v.Mark("Submit"), "Submit");
    }

    private static IEnumerable<WebDecision> FormSequence(OracleView v, string goal)
    {
        Match m = FormSequenceRx().Match(goal);
        int n = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), k = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        foreach (WebDecision s in Slide(v, n))
        {
            yield return s;
        }

        WebMark[] boxes = [.. v.Marks("", "checkbox").OrderBy(b => b.CssBox.X)];
        yield return Click(k <= boxes.Length ? boxes[k - 1] : null, $"checkbox {k}");
        yield return Click(v.Mark("Submit"), "Submit");
    }

    // ---- drag-items: drag the item onto the slot's item, past its middle in the direction of travel.
    private static IEnumerable<WebDecision> DragItems(OracleView v, string goal)
    {
        Match m = DragRx().Match(goal);
        WebMark[] items = [.. v.Obs.Marks.Where(x => x.Role == "generic" && x.Name.Length > 0).OrderBy(x => x.CssBox.Y)];
        int from = Array.FindIndex(items, x => x.Name == m.Groups[1].Value);
        string how = m.Groups[2].Value;
        int to = how.StartsWith("to the top", StringComparison.Ordinal) ? 0
            : how.StartsWith("to the bottom", StringComparison.Ordinal) ? items.Length - 1
            : how.StartsWith("down", StringComparison.Ordinal) ? from + 1
            : how.StartsWith("up", StringComparison.Ordinal) ? from - 1
            : int.Parse(PositionRx().Match(how).Groups[1].Value, CultureInfo.InvariantCulture) - 1;
        if (from < 0 || to < 0 || to >= items.Length)
        {
            yield return Fail("item or slot not found");
            yield break;
        }

        MarkBox slot = items[to].CssBox;
        (double x, _) = Centre(slot);
        double y = to > from ? slot.Bottom - 2 : slot.Y + 2;
        yield return DragTo(items[from], x, y, v.Obs.DeviceScaleFactor);
    }

    // ---- login-user-popup: type both fields; a popup that asks to leave is cancelled and the field typed again.
    private static IEnumerable<WebDecision> LoginPopup(OracleView v, string goal)
    {
        string[] q = Quoted(goal);
        for (int field = 0; field < 2; field++)
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                WebMark? box = v.Marks("", "textbox").OrderBy(b => b.CssBox.Y).Skip(field).FirstOrDefault();
                yield return Type(box, q[field], field == 0 ? "username" : "password");
                if (v.Mark("Cancel", "button") is not { } cancel)
                {
                    break;
                }

                yield return Click(cancel, "Cancel");
            }
        }

        if (v.Mark("Cancel", "button") is { } late)
        {
            yield return Click(late, "Cancel");
        }

        yield return Click(v.Marks("/^(ok|login|log in)$/", "button").LastOrDefault(), "OK");
    }

    // ---- email-inbox-forward-nl: open the sender's email, Forward, type the recipient, send.
    private static readonly HashSet<string> SentenceWords = new(StringComparer.Ordinal)
    {
        "Find", "Locate", "Look", "Forward", "Send", "Go", "Please", "Give", "The", "Navigate", "Search", "I", "Get",
    };

    private static IEnumerable<WebDecision> ForwardEmail(OracleView v, string goal)
    {
        Match by = SenderRx().Match(goal);
        string sender = by.Success ? (by.Groups[1].Success ? by.Groups[1].Value : by.Groups[2].Value) : "";
        string[] names = [.. NameRx().Matches(goal).Select(x => x.Value).Where(w => !SentenceWords.Contains(w) && w != sender).Distinct()];
        if (sender.Length == 0 || names.Length != 1)
        {
            yield return Fail($"could not read sender/recipient from the goal ({sender}; {string.Join(",", names)})");
            yield break;
        }

        for (int i = 0; i < 6 && v.Obs.Marks.All(m => !m.Name.StartsWith(sender + " ", StringComparison.Ordinal)); i++)
        {
            yield return Scroll("down", v.Obs.Marks.FirstOrDefault(m => m.Name.Length > 20));
        }

        yield return Click(v.Obs.Marks.FirstOrDefault(m => m.Name.StartsWith(sender + " ", StringComparison.Ordinal)), "email from " + sender);
        yield return Click(v.Mark("/^forward$/"), "Forward");
        yield return Type(v.Marks("", "textbox").FirstOrDefault(m => !m.States.Contains("multiline")), names[0], "to");
        yield return Click(v.Mark("/send/"), "send");
    }

    // ---- social-media: the post is found by its @user text; its controls are the icons below it, in order.
    private static IEnumerable<WebDecision> SocialMedia(OracleView v, string goal)
    {
        string user = UserRx().Match(goal).Value;
        string action = Quoted(goal).FirstOrDefault() ?? "";
        string? icon = action switch { "Reply" => "reply", "Retweet" => "retweet", "Like" => "like", _ => null };
        for (int i = 0; i < 12; i++)
        {
            // The post's own line: the user's text below the goal, with controls below it and before the next post's.
            WebText? who = v.Texts(user).FirstOrDefault();
            WebMark? more = who is null ? null : v.Marks("/more/").Where(m => m.CssBox.Y > who.CssBox.Y).OrderBy(m => m.CssBox.Y).FirstOrDefault();
            if (who is not null && more is not null)
            {
                if (icon is not null)
                {
                    WebMark? control = v.Marks("/^" + icon + "$/").FirstOrDefault(m => OracleView.SameRow(m.CssBox, more.CssBox));
                    yield return Click(control, action);
                    yield break;
                }

                yield return Click(more, "more");
                for (int k = 0; k < 4 && !v.Obs.Marks.Any(m => m.Name.StartsWith(action, StringComparison.OrdinalIgnoreCase)); k++)
                {
                    // The menu opened below the post and runs past the bottom of the feed.
                    yield return Scroll("down", v.Mark("Share via DM") ?? v.Marks("/more/").LastOrDefault());
                }

                yield return Click(v.Obs.Marks.FirstOrDefault(m => m.Name.StartsWith(action, StringComparison.OrdinalIgnoreCase)), action);
                yield break;
            }

            yield return Scroll("down", v.Marks("/reply/").LastOrDefault());
        }

        yield return Fail("post not found");
    }

    // ---- multi-layouts: each field is the one nearest its label text (labels sit before, above or after fields).
    private static IEnumerable<WebDecision> MultiLayouts(OracleView v, string goal)
    {
        Match m = MoviesRx().Match(goal);
        (string Label, string Value)[] want = [("/genre/", m.Groups[1].Value), ("/director/", m.Groups[2].Value), ("/year|date/", m.Groups[3].Value)];
        WebMark[] boxes = [.. v.Marks("", "textbox")];
        var pairs = new List<(double D, int Field, WebMark Box)>();
        for (int f = 0; f < want.Length; f++)
        {
            // Below the goal: the goal's own words ("directed by", "year") are not labels.
            foreach (WebText label in v.Texts(want[f].Label))
            {
                foreach (WebMark b in boxes)
                {
                    pairs.Add((Distance(label.CssBox, b.CssBox), f, b));
                }
            }
        }

        var chosen = new Dictionary<int, WebMark>();
        foreach ((double _, int f, WebMark b) in pairs.OrderBy(p => p.D))
        {
            if (!chosen.ContainsKey(f) && !chosen.ContainsValue(b))
            {
                chosen[f] = b;
            }
        }

        for (int f = 0; f < want.Length; f++)
        {
            yield return Type(chosen.GetValueOrDefault(f), want[f].Value, want[f].Label);
        }

        yield return Click(v.Marks("/^(search|submit|go!?|find)$/").LastOrDefault(), "submit");
    }

    // ---- book-flight: from/to through the autocomplete, the date through the calendar, then the best result.
    private static IEnumerable<WebDecision> BookFlight(OracleView v, string goal)
    {
        Match m = FlightRx().Match(goal);
        string best = m.Groups[1].Value;
        string[] places = [m.Groups[2].Value, m.Groups[3].Value];
        for (int f = 0; f < 2; f++)
        {
            string placeholder = f == 0 ? "From:" : "To:";
            yield return Type(v.Mark(placeholder, "textbox"), places[f], placeholder);
            // The suggestion that is this city or airport ("Nashville" contains "shv", but it is not SHV).
            WebMark[] suggestions = [.. v.Obs.Marks.Where(x => x.Role != "textbox")];
            WebMark? suggestion = suggestions.FirstOrDefault(x => x.Name.StartsWith(places[f] + " (", StringComparison.Ordinal) || x.Name.Contains("(" + places[f] + ")", StringComparison.Ordinal))
                ?? suggestions.FirstOrDefault(x => x.Name.Contains(places[f], StringComparison.Ordinal));
            yield return Click(suggestion, "suggestion " + places[f]);
        }

        Match d = DateRx().Match(goal);
        var date = new DateTime(int.Parse(d.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(d.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(d.Groups[2].Value, CultureInfo.InvariantCulture));
        foreach (WebDecision s in PickDate(v, v.Marks("", "textbox").FirstOrDefault(x => x.States.Contains("readonly")), date))
        {
            yield return s;
        }

        yield return Click(v.Mark("Search", "button"), "Search");

        // Read every result, scrolling down the list: prices are in the buttons' names, durations in the text above them.
        static int Minutes(Match m) => (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 60) + int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        string? bestText = null;
        int bestValue = int.MaxValue;
        WebMark[] Buttons() => [.. v.Marks("/^book flight for/", "button")];
        for (int i = 0; i < 15; i++)
        {
            IEnumerable<(string Text, int Value)> seen = best == "cheapest"
                ? Buttons().Select(b => (b.Name, int.Parse(PriceRx().Match(b.Name).Groups[1].Value, CultureInfo.InvariantCulture)))
                : v.PageTexts.Where(t => DurationRx().IsMatch(t.Text)).Select(t => (t.Text, Minutes(DurationRx().Match(t.Text))));
            foreach ((string text, int value) in seen)
            {
                if (value < bestValue)
                {
                    (bestText, bestValue) = (text, value);
                }
            }

            string before = string.Join("|", v.Obs.Texts.Select(t => t.Text + t.CssBox.Y));
            yield return Scroll("down", Buttons().LastOrDefault());
            if (string.Join("|", v.Obs.Texts.Select(t => t.Text + t.CssBox.Y)) == before)
            {
                break;
            }
        }

        // Back up the list to the best result. A duration's button is the first button below it with no other duration
        // between; when the list cuts it off, one scroll down brings it to the top, its duration now above the view.
        for (int i = 0; i < 20 && bestText is not null; i++)
        {
            WebMark? hit = null;
            if (best == "cheapest")
            {
                hit = Buttons().FirstOrDefault(b => b.Name == bestText);
            }
            else if (v.Texts(bestText).FirstOrDefault() is { } dur)
            {
                hit = Buttons().FirstOrDefault(b => b.CssBox.Y > dur.CssBox.Y && DurationAbove(v, b) is { } d && d.Value == bestText);
                if (hit is null)
                {
                    yield return Scroll("down", Buttons().LastOrDefault());
                    hit = Buttons().FirstOrDefault(b => DurationAbove(v, b) is null);
                    if (hit is null)
                    {
                        yield return Fail("the best flight's button did not come into view");
                        yield break;
                    }
                }
            }

            if (hit is not null)
            {
                yield return Click(hit, "best flight");
                yield break;
            }

            yield return Scroll("up", Buttons().FirstOrDefault());
        }

        yield return Fail("best flight not found again");
    }

    // The duration text of a result's button: the nearest above it, unless another button lies between (then the
    // button's own duration is out of view).
    private static Match? DurationAbove(OracleView v, WebMark button)
    {
        WebText? t = v.PageTexts.Where(t => t.CssBox.Bottom <= button.CssBox.Y + 1 && DurationRx().IsMatch(t.Text)).MaxBy(t => t.CssBox.Y);
        if (t is null || v.Obs.Marks.Any(b => b.Id != button.Id && b.Role == "button" && b.CssBox.Y > t.CssBox.Y && b.CssBox.Y < button.CssBox.Y))
        {
            return null;
        }

        return DurationRx().Match(t.Text);
    }

    // ---- click-tab-2-hard: open tabs in turn until the word shows as a mark.
    private static IEnumerable<WebDecision> ClickTab(OracleView v, string goal)
    {
        string want = Quoted(goal).FirstOrDefault() ?? "";
        int tabs = v.Marks("/^\\d+$/", "link").Count();
        for (int t = 1; t <= tabs + 1; t++)
        {
            if (v.Marks(want).FirstOrDefault(x => x.Role != "link" && x.Role != "tab") is { } hit)
            {
                yield return Click(hit, want);
                yield break;
            }

            if (t <= tabs)
            {
                yield return Click(v.Mark(t.ToString(CultureInfo.InvariantCulture), "link"), "tab " + t);
            }
        }

        yield return Fail($"no link \"{want}\" in any tab");
    }

    // ---- read-table: the value is the text on the key's row, right of it.
    private static IEnumerable<WebDecision> ReadTable(OracleView v, string goal)
    {
        string key = ReadTableRx().Match(goal).Groups[1].Value;
        WebText? k = v.Texts(key).FirstOrDefault();
        WebText? value = k is null ? null : v.PageTexts.Where(t => t != k && OracleView.SameRow(t.CssBox, k.CssBox) && t.CssBox.X > k.CssBox.X).OrderBy(t => t.CssBox.X).FirstOrDefault();
        if (value is null)
        {
            yield return Fail($"no value for \"{key}\"");
            yield break;
        }

        yield return Type(v.Mark("", "textbox"), value.Text);
        yield return Click(v.Mark("Submit"), "Submit");
    }

    // ---- order-food: items are the texts above each "+"; their icons' alt texts are their types.
    private static IEnumerable<WebDecision> OrderFood(OracleView v, string goal)
    {
        Match byType = FoodTypeRx().Match(goal);
        var wanted = byType.Success ? [] : new List<string>(goal[(goal.IndexOf(':', StringComparison.Ordinal) + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        int count = byType.Success ? int.Parse(byType.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        for (int i = 0; i < 15 && (wanted.Count > 0 || count > 0); i++)
        {
            bool acted = false;
            WebMark[] pluses = [.. v.Marks("+").OrderBy(p => p.CssBox.Y)];
            float top = -1;
            foreach (WebMark plus in pluses)
            {
                // The item's texts lie between the previous "+" row and this one.
                WebText[] item = [.. v.PageTexts.Where(t => t.CssBox.Y > top && t.CssBox.Y <= plus.CssBox.Bottom && t.Text is not "+" and not "-" && !IntRx().IsMatch(t.Text))];
                top = plus.CssBox.Bottom;
                // The name is the last text before the icons (a course's heading may come before it).
                string? itemName = item.LastOrDefault(t => !t.IsImage)?.Text;
                if (itemName is null)
                {
                    continue;
                }

                if (byType.Success ? item.Any(t => t.IsImage && t.Text == byType.Groups[2].Value) : wanted.Remove(itemName))
                {
                    int times = byType.Success ? count : 1;
                    count = 0;
                    for (int k = 0; k < times; k++)
                    {
                        yield return Click(v.Obs.Marks.FirstOrDefault(x => x.Name == "+" && Math.Abs(x.CssBox.Y - plus.CssBox.Y) < 3), "+ " + itemName);
                    }

                    acted = true;
                    break;
                }
            }

            if (!acted)
            {
                yield return Scroll("down", pluses.LastOrDefault());
            }
        }

        for (int i = 0; i < 10 && v.Mark("Order!") is null; i++)
        {
            yield return Scroll("down", v.Marks("+").LastOrDefault());
        }

        yield return Click(v.Mark("Order!"), "Order!");
    }

    // ---- phone-book: page with ">" until the contact's name shows, then click the asked property's link.
    private static IEnumerable<WebDecision> PhoneBook(OracleView v, string goal)
    {
        Match m = PhoneBookRx().Match(goal);
        string person = m.Groups[1].Value, property = m.Groups[2].Value;
        for (int page = 0; page < 8; page++)
        {
            if (v.Texts(person).Any())
            {
                WebMark[] links = [.. v.Marks("", "link").Where(l => l.Name.Length > 1 && l.Name is not ">" and not "<" and not ">>" and not "<<")];
                WebMark? pick = property switch
                {
                    "phone" => links.FirstOrDefault(l => PhoneRx().IsMatch(l.Name)),
                    "email" => links.FirstOrDefault(l => l.Name.Contains('@', StringComparison.Ordinal)),
                    _ => links.FirstOrDefault(l => !PhoneRx().IsMatch(l.Name) && !l.Name.Contains('@', StringComparison.Ordinal) && !IntRx().IsMatch(l.Name)),
                };
                yield return Click(pick, property);
                yield break;
            }

            yield return Click(v.Mark(">", "link"), "next page");
        }

        yield return Fail($"{person} not found");
    }

    [GeneratedRegex("\"([^\"]*)\"")]
    private static partial Regex QuotedRx();

    [GeneratedRegex("labeled \"([^\"]+)\"")]
    private static partial Regex LabeledRx();

    [GeneratedRegex(@"(\d{2})/(\d{2})/(\d{4})")]
    private static partial Regex DateRx();

    [GeneratedRegex(@"^-?\d+$")]
    private static partial Regex IntRx();

    [GeneratedRegex(@"Select (-?\d+)")]
    private static partial Regex SelectNRx();

    [GeneratedRegex(@"Select (-?\d+) with the slider, click the (\d)")]
    private static partial Regex FormSequenceRx();

    [GeneratedRegex(@"^Drag (\S+) (.*)$")]
    private static partial Regex DragRx();

    [GeneratedRegex(@"(\d+)(st|nd|rd|th) position")]
    private static partial Regex PositionRx();

    [GeneratedRegex(@"(?:\bby|\bfrom|(?:email|mail|message|information)) ([A-Z][\w'-]+)|^([A-Z][\w'-]+) wants his")]
    private static partial Regex SenderRxRaw();

    private static Regex SenderRx() => SenderRxRaw();

    [GeneratedRegex(@"\b[A-Z][a-z'-]+\b")]
    private static partial Regex NameRx();

    [GeneratedRegex(@"@\w+")]
    private static partial Regex UserRx();

    [GeneratedRegex(@"Search for (.+?) movies directed by (.+?) from year (\d+)")]
    private static partial Regex MoviesRx();

    [GeneratedRegex(@"Book the (cheapest|shortest) one-way flight from: (.+?) to: (.+?) on \d")]
    private static partial Regex FlightRx();

    [GeneratedRegex(@"\$(\d+)")]
    private static partial Regex PriceRx();

    [GeneratedRegex(@"^(\d+)h (\d+)m$")]
    private static partial Regex DurationRx();

    [GeneratedRegex(@"Enter the value of (.+?) into the text field")]
    private static partial Regex ReadTableRx();

    [GeneratedRegex(@"Order (\d+) items that are (.+)$")]
    private static partial Regex FoodTypeRx();

    [GeneratedRegex(@"Find (.+?) in the contact book and click on their (phone|email|address)")]
    private static partial Regex PhoneBookRx();

    [GeneratedRegex(@"^\d{3}-\d{3}-\d{4}$")]
    private static partial Regex PhoneRx();
}
