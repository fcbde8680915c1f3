using System.Globalization;
using System.Text;

namespace Magma.WebDataGen;

/// <summary>A random look: font, size, colours, spacing, corner radius, widths.</summary>
internal sealed record Theme(string Font, int FontSize, string Text, string Background, string Surface, string Accent, string AccentText,
    string Border, int Radius, int Gap, int Padding, int Width, bool Centered, bool Shadow, bool Outline, bool Uppercase)
{
    public static Theme Random(PageRandom r)
    {
        int hue = r.Int(0, 360);
        bool darkAccent = r.Chance(0.7);
        bool tinted = r.Chance(0.4);
        return new Theme(
            Font: r.Pick(FontList),
            FontSize: r.Int(12, 21),
            Text: Hsl(r.Int(0, 360), r.Int(0, 30), r.Int(5, 25)),
            Background: tinted ? Hsl(r.Int(0, 360), r.Int(10, 60), r.Int(92, 99)) : "#ffffff",
            Surface: Hsl(r.Int(0, 360), r.Int(0, 40), r.Int(94, 100)),
            Accent: darkAccent ? Hsl(hue, r.Int(40, 90), r.Int(25, 45)) : Hsl(hue, r.Int(50, 95), r.Int(70, 85)),
            AccentText: darkAccent ? "#ffffff" : "#111111",
            Border: Hsl(r.Int(0, 360), r.Int(0, 30), r.Int(60, 85)),
            Radius: r.Pick([0, 2, 4, 6, 8, 12, 20]),
            Gap: r.Int(4, 25),
            Padding: r.Int(4, 15),
            Width: r.Int(640, 1240),
            Centered: r.Chance(0.6),
            Shadow: r.Chance(0.4),
            Outline: r.Chance(0.2),
            Uppercase: r.Chance(0.15));
    }

    private static readonly string[] FontList =
    [
        "'Liberation Sans', sans-serif", "'Liberation Serif', serif", "'DejaVu Sans', sans-serif", "'DejaVu Serif', serif",
        "'DejaVu Sans Condensed', sans-serif", "'Liberation Sans Narrow', sans-serif", "'Liberation Mono', monospace", "sans-serif", "serif",
    ];

    public static string Hsl(int h, int s, int l) => string.Create(CultureInfo.InvariantCulture, $"hsl({h},{s}%,{l}%)");

    public string Css() => string.Create(CultureInfo.InvariantCulture, $$"""
        *{box-sizing:border-box}
        body{margin:0;font-family:{{Font}};font-size:{{FontSize}}px;line-height:1.4;color:{{Text}};background:{{Background}}}
        .wrap{max-width:{{Width}}px;margin:{{(Centered ? "0 auto" : "0 0 0 " + Gap + "px")}};padding:{{Padding + 4}}px}
        header.top{display:flex;flex-wrap:wrap;align-items:center;gap:{{Gap}}px;padding:{{Padding}}px 0;border-bottom:1px solid {{Border}};margin-bottom:{{Gap}}px}
        header.top nav{display:flex;gap:{{Gap}}px;flex-wrap:wrap}
        .logo{font-size:1.3em;margin-right:auto}
        a{color:{{Accent}}}
        .btn{font:inherit;background:{{(Outline ? "transparent" : Accent)}};color:{{(Outline ? Accent : AccentText)}};border:{{(Outline ? "2px" : "1px")}} solid {{Accent}};border-radius:{{Radius}}px;padding:{{Padding / 2 + 3}}px {{Padding + 6}}px;cursor:pointer{{(Uppercase ? ";text-transform:uppercase" : "")}}}
        .btn.secondary{background:{{Surface}};color:{{Text}};border-color:{{Border}}}
        .btn.small{padding:2px 8px;font-size:.9em}
        .btn.big{font-size:1.2em;padding:{{Padding}}px {{Padding * 2}}px}
        .grid{display:grid;gap:{{Gap}}px}
        .card{background:{{Surface}};border:1px solid {{Border}};border-radius:{{Radius}}px;padding:{{Padding}}px{{(Shadow ? ";box-shadow:0 2px 6px rgba(0,0,0,.15)" : "")}}}
        .card h3{margin:.3em 0;font-size:1.05em}
        .img{height:{{40 + (Gap * 3)}}px;border-radius:{{Radius}}px}
        .price{margin:.2em 0 .5em;font-weight:bold}
        .more{margin-left:8px}
        .row{margin:{{Gap / 2 + 4}}px 0}
        .row.right{text-align:right}
        .panel{background:{{Surface}};border:1px solid {{Border}};border-radius:{{Radius}}px;padding:{{Padding + 8}}px;max-width:{{Math.Min(Width, 720)}}px}
        .field{margin:{{Gap / 2 + 4}}px 0;display:flex;flex-direction:{{(Gap % 2 == 0 ? "column" : "row")}};gap:6px}
        .field label{min-width:9em}
        input,select,textarea{font:inherit;padding:{{Padding / 2 + 2}}px;border:1px solid {{Border}};border-radius:{{Math.Min(Radius, 8)}}px;background:#fff;color:#111}
        fieldset{border:1px solid {{Border}};border-radius:{{Radius}}px;margin:{{Gap / 2}}px 0}
        .radio{margin-right:{{Gap}}px}
        .list{list-style:none;padding:0;margin:0}
        .list li{display:flex;justify-content:space-between;align-items:center;padding:{{Padding / 2 + 2}}px {{Padding}}px;border-bottom:1px solid {{Border}}}
        .list .actions a{margin-left:8px}
        table{border-collapse:collapse;width:{{(Gap % 2 == 0 ? "100%" : "auto")}}}
        th,td{text-align:left;padding:{{Padding / 2 + 2}}px {{Padding}}px;border-bottom:1px solid {{Border}}}
        th{background:{{Surface}}}
        .menubar{display:flex;gap:{{Gap / 2}}px}
        .menu{position:relative}
        .menubtn{font:inherit;background:none;border:0;padding:{{Padding / 2 + 4}}px {{Padding}}px;color:{{Text}};cursor:pointer}
        .menu .sub{display:none;position:absolute;top:100%;left:0;min-width:11em;background:{{Surface}};border:1px solid {{Border}};z-index:5;padding:4px 0}
        .menu:hover .sub,.menu.open .sub{display:block}
        .sub a{display:block;padding:4px 12px}
        .overlay{position:fixed;inset:0;background:rgba(0,0,0,.{{4 + (Gap % 4)}});display:flex;align-items:{{(Gap % 3 == 0 ? "flex-start;padding-top:80px" : "center")}};justify-content:center;z-index:10}
        .dialog{position:relative;background:{{Surface}};color:{{Text}};border-radius:{{Radius}}px;padding:{{Padding + 12}}px;width:{{Math.Min(Width / 2 + 120, 560)}}px}
        .dialog .close{position:absolute;top:8px;right:8px;font-size:1.3em;background:none;border:0;cursor:pointer;color:{{Text}}}
        .hero{padding:{{Gap * 2}}px {{Padding}}px;background:{{Surface}};border-radius:{{Radius}}px}
        .side{float:{{(Centered ? "right" : "left")}};display:flex;flex-direction:column;gap:6px;padding:{{Padding}}px;margin:{{Gap}}px 0}
        .note{color:{{Hsl(0, 0, 40)}};font-size:.9em}
        .banner{background:{{Accent}};color:{{AccentText}};padding:{{Padding}}px;border-radius:{{Radius}}px;margin:{{Gap / 2}}px 0}
        footer{clear:both;margin-top:{{Gap * 2}}px;padding-top:{{Padding}}px;border-top:1px solid {{Border}};font-size:.85em}
        footer a{margin-right:12px}
        """);
}

/// <summary>Accumulates one page: title, body, targets and element ids.</summary>
internal sealed class PageBuilder(PageRandom r, Words w, Theme theme)
{
    private int _ids;
    private string _title = "";

    public PageRandom R { get; } = r;

    public Words W { get; } = w;

    public Theme Theme { get; } = theme;

    public StringBuilder Body { get; } = new();

    public List<PageTarget> Targets { get; } = [];

    public string NewId() => "g" + (++_ids).ToString(CultureInfo.InvariantCulture);

    public void Title(string title) => _title = title;

    public void Add(PageTarget target) => Targets.Add(target);

    /// <summary>Random words from the filler and adjective lists.</summary>
    public string Sentence(int words) =>
        string.Join(' ', Enumerable.Range(0, words).Select(_ => R.Pick(R.Chance(0.6) ? W["filler"] : W["adjectives"]))) + ".";

    public void Header(string logo, string nav, string extra) =>
        Body.Append(CultureInfo.InvariantCulture, $"<header class=\"top\"><strong class=\"logo\">{PageGenerator.E(logo)}</strong><nav>{nav}</nav>{extra}</header>");

    /// <summary>Nav links; as targets when <paramref name="clickTargets"/>, else as distractors.</summary>
    public string NavLinks(int count, bool clickTargets)
    {
        var s = new StringBuilder();
        foreach (string link in R.Distinct(W["nav_links"], count))
        {
            string id = NewId();
            s.Append(CultureInfo.InvariantCulture, $"<a href=\"#{id}\" data-gen=\"{id}\">{PageGenerator.E(link)}</a>");
            if (clickTargets && R.Chance(0.5))
            {
                Add(new PageTarget
                {
                    GenId = id, Action = TargetAction.Click, ExpectedName = link,
                    Instruction = R.Pick([$"go to {link}", $"click {link} in the header", $"open the {link} page"]),
                    Effect = $"__gen.clicked.includes({PageGenerator.Js(id)})",
                });
            }
        }

        return s.ToString();
    }

    /// <summary>A labelled text field in one of the ways pages label them: label, wrapping label, aria-label, placeholder.</summary>
    public string Field(string id, string label, bool area)
    {
        string control(string attrs) => area ? $"<textarea data-gen=\"{id}\" rows=\"2\"{attrs}></textarea>" : $"<input data-gen=\"{id}\"{attrs}>";
        string l = PageGenerator.E(label);
        return R.Int(0, 4) switch
        {
            0 => $"<div class=\"field\"><label for=\"{id}\">{l}</label>{control($" id=\"{id}\"")}</div>",
            1 => $"<div class=\"field\"><label>{l} {control("")}</label></div>",
            2 => $"<div class=\"field\"><span>{l}</span>{control($" aria-label=\"{l}\"")}</div>",
            _ => $"<div class=\"field\">{control($" placeholder=\"{l}\"")}</div>",
        };
    }

    /// <summary>Something that is not a target: text, a banner with a button, a disabled button, a note.</summary>
    public void Distractor()
    {
        switch (R.Int(0, 4))
        {
            case 0:
                Body.Append(CultureInfo.InvariantCulture, $"<p>{PageGenerator.E(PageGenerator.Cap(Sentence(R.Int(8, 30))))}</p>");
                break;
            case 1:
                Body.Append(CultureInfo.InvariantCulture, $"<div class=\"banner\">{PageGenerator.E(PageGenerator.Cap(Sentence(R.Int(4, 10))))} <button class=\"btn secondary\">{PageGenerator.E(R.Pick(["Learn more", "Dismiss", "Read more", "Shop now"]))}</button></div>");
                break;
            case 2:
                Body.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{PageGenerator.E(PageGenerator.Cap(Sentence(R.Int(5, 12))))} <button class=\"btn small\" disabled>{PageGenerator.E(R.Pick(["Sold out", "Unavailable", "Coming soon"]))}</button></p>");
                break;
            default:
                break;
        }
    }

    public void Footer()
    {
        if (R.Chance(0.5))
        {
            Body.Append("<footer>")
                .Append(string.Concat(R.Distinct(["Privacy", "Terms", "Imprint", "Cookies", "Status", "Accessibility"], R.Int(2, 5)).Select(l => $"<a href=\"#\">{l}</a>")))
                .Append("</footer>");
        }
    }

    /// <summary>
    /// The document. Its script keeps the page's own state: clicks and hovers on generated elements, the basket; links
    /// to <c>#…</c> do not navigate, so that a page stays one page.
    /// </summary>
    public string Document() => $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{{PageGenerator.E(_title)}}</title>
        <style>
        {{Theme.Css()}}
        </style></head>
        <body><div class="wrap">
        {{Body}}
        </div>
        <script>
        window.__gen = {clicked: [], hovered: [], basket: [], submitted: false};
        document.addEventListener('click', e => {
          const a = e.target.closest('a[href^="#"]');
          if (a) e.preventDefault();
          const t = e.target.closest('[data-gen]');
          if (!t) return;
          __gen.clicked.push(t.dataset.gen);
          if (t.dataset.product) {
            __gen.basket.push(t.dataset.product);
            const c = document.getElementById('basket');
            if (c) c.textContent = c.dataset.label + ' (' + __gen.basket.length + ')';
          }
        });
        document.addEventListener('mouseover', e => {
          const t = e.target.closest('[data-gen]');
          if (t && !__gen.hovered.includes(t.dataset.gen)) __gen.hovered.push(t.dataset.gen);
        });
        </script>
        </body></html>
        """;
}
