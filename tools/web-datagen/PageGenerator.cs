using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Magma.WebDataGen;

/// <summary>
/// Makes a synthetic web page and its instructions from a seed: shops, forms, lists, tables, menus, dialogs and nav
/// bars, with labels from the word list and a random theme (font, size, colours, spacing, layout) and distractors.
/// Every element an instruction names carries a <c>data-gen</c> attribute so that the builder can check, by hit-testing
/// the observation's marks, that the answer's mark is that element. Pure: the same seed gives the same page.
/// </summary>
internal static class PageGenerator
{
    /// <summary>
    /// Version of the generator's output. Bump it whenever a seed's page, instructions or answers change (templates,
    /// words, themes) or the prompts do, so that data sets made by different versions are never mixed up. 2: the mark
    /// list of the prompts in WebMark.Describe's unquoted format with <c>| in:</c> contexts for shared names.
    /// </summary>
    public const int Version = 2;

    /// <summary>The page kinds, in the order a seed picks them.</summary>
    public static readonly string[] Kinds = ["shop", "form", "list", "table", "menu", "dialog", "navbar"];

    /// <summary>Most targets kept per page: more would make one page's layout dominate the data.</summary>
    public const int MaxTargetsPerPage = 8;

    /// <summary>The page of a seed.</summary>
    public static GeneratedPage Generate(int seed, Words? words = null)
    {
        words ??= Words.Default;
        var r = new PageRandom(seed);
        string kind = Kinds[r.Int(0, Kinds.Length)];
        var b = new PageBuilder(r, words, Theme.Random(r));
        switch (kind)
        {
            case "shop": Shop(b); break;
            case "form": Form(b); break;
            case "list": List(b); break;
            case "table": Table(b); break;
            case "menu": Menu(b); break;
            case "dialog": Dialog(b); break;
            default: NavBar(b); break;
        }

        // A random subset, kept in page order (episodes take their steps in this order: fields before the submit button).
        HashSet<PageTarget> kept = b.Targets.Count <= MaxTargetsPerPage ? [.. b.Targets] : [.. r.Distinct(b.Targets, MaxTargetsPerPage)];
        List<PageTarget> targets = [.. b.Targets.Where(kept.Contains)];
        return new GeneratedPage(seed, kind, b.Document(), targets);
    }

    // ---- kinds ------------------------------------------------------------------------------------------------

    private static void Shop(PageBuilder b)
    {
        PageRandom r = b.R;
        string shop = Cap(r.Pick(b.W["adjectives"])) + " " + Cap(r.Pick(b.W["nouns"])) + (r.Chance(0.5) ? " Store" : " Shop");
        string basketWord = r.Pick(["basket", "cart", "bag"]);
        string addLabel = basketWord switch { "basket" => r.Pick(["Add to basket", "Add", "Add to Basket"]), "cart" => r.Pick(["Add to cart", "Add", "Add to Cart"]), _ => r.Pick(["Add to bag", "Add"]) };
        b.Title(shop);
        string basketId = b.NewId();
        b.Header(shop, b.NavLinks(r.Int(2, 5), clickTargets: true),
            $"<button class=\"btn\" data-gen=\"{basketId}\" id=\"basket\" data-label=\"{Cap(basketWord)}\">{Cap(basketWord)} (0)</button>");
        b.Distractor();
        if (r.Chance(0.5))
        {
            string search = b.NewId();
            b.Body.Append(CultureInfo.InvariantCulture, $"<div class=\"row\"><input type=\"search\" data-gen=\"{search}\" placeholder=\"Search products\" aria-label=\"Search products\"></div>");
            string q = r.Pick(b.W["nouns"]);
            b.Add(new PageTarget
            {
                GenId = search, Action = TargetAction.Type, Value = q, ExpectedName = "Search products",
                Instruction = r.Pick([$"search for {q}", $"type \"{q}\" into the search box", $"enter {q} in Search products"]),
                Effect = ValueIs(search, q),
            });
        }

        int count = r.Int(3, 13);
        int cols = r.Int(2, 6);
        List<string> adjectives = r.Distinct(b.W["adjectives"], count);
        List<string> nouns = [.. Enumerable.Range(0, count).Select(_ => r.Pick(b.W["nouns"]))];
        b.Body.Append(CultureInfo.InvariantCulture, $"<main class=\"grid\" style=\"grid-template-columns:repeat({cols},1fr)\">");
        for (int i = 0; i < count; i++)
        {
            string product = Cap(adjectives[i]) + " " + nouns[i];
            string price = (r.Int(2, 400) + (r.Int(0, 100) / 100.0)).ToString("0.00", CultureInfo.InvariantCulture);
            string add = b.NewId();
            string details = b.NewId();
            b.Body.Append("<div class=\"card\">")
                .Append(CultureInfo.InvariantCulture, $"<div class=\"img\" style=\"background:{Theme.Hsl(r.Int(0, 360), r.Int(20, 70), r.Int(60, 90))}\"></div>")
                .Append(CultureInfo.InvariantCulture, $"<h3>{E(product)}</h3><p class=\"price\">{(r.Chance(0.5) ? "$" : "€")}{price}</p>")
                .Append(CultureInfo.InvariantCulture, $"<button class=\"btn add\" data-gen=\"{add}\" data-product=\"{E(product)}\">{E(addLabel)}</button>");
            if (r.Chance(0.4))
            {
                b.Body.Append(CultureInfo.InvariantCulture, $" <a href=\"#{details}\" data-gen=\"{details}\" class=\"more\">Details</a>");
            }

            b.Body.Append("</div>");
            string p = product.ToLowerInvariant();
            b.Add(new PageTarget
            {
                GenId = add, Action = TargetAction.Click,
                Instruction = r.Pick([$"click the {addLabel} button of {p}", $"add the {p} to the {basketWord}", $"put {p} in my {basketWord}", $"add {product} to {basketWord}"]),
                Effect = $"__gen.basket.includes({Js(product)})",
            });
        }

        b.Body.Append("</main>");
        b.Add(new PageTarget
        {
            GenId = basketId, Action = TargetAction.Click, ExpectedName = $"{Cap(basketWord)} (0)",
            Instruction = r.Pick([$"open the {basketWord}", $"show my {basketWord}", $"go to the {basketWord}"]),
            Effect = Clicked(basketId),
        });
        b.Footer();
    }

    private static void Form(PageBuilder b)
    {
        PageRandom r = b.R;
        string title = r.Pick(["Contact us", "Create an account", "Checkout", "Your details", "Sign up", "Shipping address", "Request a quote", "Profile settings"]);
        b.Title(title);
        if (r.Chance(0.6))
        {
            b.Header(Cap(r.Pick(b.W["adjectives"])) + " " + Cap(r.Pick(b.W["filler"])), b.NavLinks(r.Int(2, 5), clickTargets: false), "");
        }

        b.Distractor();
        b.Body.Append(CultureInfo.InvariantCulture, $"<main class=\"panel\"><h2>{E(title)}</h2><form onsubmit=\"event.preventDefault();__gen.submitted=true\">");
        bool twoCols = r.Chance(0.3);
        if (twoCols)
        {
            b.Body.Append("<div class=\"grid\" style=\"grid-template-columns:1fr 1fr\">");
        }

        int textCount = r.Int(1, 5), selectCount = r.Int(0, 3), checkCount = r.Int(0, 3);
        foreach (string label in r.Distinct(b.W["text_fields"], textCount))
        {
            string id = b.NewId();
            string value = ValueFor(label, r, b.W);
            bool area = label is "Gift message" && r.Chance(0.7);
            b.Body.Append(b.Field(id, label, area));
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Type, Value = value, ExpectedName = label,
                Instruction = r.Pick([$"type {value} into the {label} field", $"enter \"{value}\" as {label}", $"fill in {label} with {value}", $"set {label} to {value}"]),
                Effect = ValueIs(id, value),
            });
        }

        foreach (string label in r.Distinct(b.W["select_fields"], selectCount))
        {
            string id = b.NewId();
            List<string> options = r.Distinct(b.W["options_" + label], r.Int(3, 7));
            string pick = options[r.Int(1, options.Count)]; // never the first: it is selected already
            b.Body.Append(CultureInfo.InvariantCulture, $"<div class=\"field\"><label for=\"{id}\">{E(label)}</label><select id=\"{id}\" data-gen=\"{id}\">")
                .Append(string.Concat(options.Select(o => $"<option>{E(o)}</option>"))).Append("</select></div>");
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Select, Value = pick, ExpectedName = label,
                Instruction = r.Pick([$"select {pick} in {label}", $"choose {pick} as the {label.ToLowerInvariant()}", $"pick \"{pick}\" from the {label} list", $"set {label} to {pick}"]),
                Effect = $"(s=>s.options[s.selectedIndex].text)(document.querySelector('[data-gen=\"{id}\"]'))==={Js(pick)}",
            });
        }

        if (twoCols)
        {
            b.Body.Append("</div>");
        }

        foreach (string label in r.Distinct(b.W["checkboxes"], checkCount))
        {
            string id = b.NewId();
            b.Body.Append(CultureInfo.InvariantCulture, $"<div class=\"check\"><label><input type=\"checkbox\" data-gen=\"{id}\"> {E(label)}</label></div>");
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Check, ExpectedName = label,
                Instruction = r.Pick([$"check \"{label}\"", $"tick the {label} box", $"check {label}", $"turn on {label}"]),
                Effect = $"document.querySelector('[data-gen=\"{id}\"]').checked===true",
            });
        }

        if (r.Chance(0.5))
        {
            string group = r.Pick(["Delivery", "Plan", "Size"]);
            List<string> options = r.Distinct(b.W["options_" + group], r.Int(2, 5));
            b.Body.Append(CultureInfo.InvariantCulture, $"<fieldset><legend>{E(group)}</legend>");
            int pick = r.Int(0, options.Count);
            for (int i = 0; i < options.Count; i++)
            {
                string id = b.NewId();
                b.Body.Append(CultureInfo.InvariantCulture, $"<label class=\"radio\"><input type=\"radio\" name=\"{group}\" data-gen=\"{id}\"> {E(options[i])}</label>");
                if (i == pick)
                {
                    b.Add(new PageTarget
                    {
                        GenId = id, Action = TargetAction.Check, ExpectedName = options[i],
                        Instruction = r.Pick([$"choose {options[i]} for {group.ToLowerInvariant()}", $"select the {options[i]} option", $"pick {options[i]} {group.ToLowerInvariant()}"]),
                        Effect = $"document.querySelector('[data-gen=\"{id}\"]').checked===true",
                    });
                }
            }

            b.Body.Append("</fieldset>");
        }

        string submit = b.NewId();
        string submitLabel = r.Pick(["Submit", "Send", "Save", "Continue", "Register", "Next", "Save details"]);
        b.Body.Append(CultureInfo.InvariantCulture, $"<div class=\"row\"><button class=\"btn\" type=\"submit\" data-gen=\"{submit}\">{E(submitLabel)}</button>");
        if (r.Chance(0.5))
        {
            b.Body.Append(" <button class=\"btn secondary\" type=\"reset\">Clear</button>");
        }

        b.Body.Append("</div></form></main>");
        b.Add(new PageTarget
        {
            GenId = submit, Action = TargetAction.Click, ExpectedName = submitLabel,
            Instruction = r.Pick([$"click {submitLabel}", $"press the {submitLabel} button", $"submit the form with {submitLabel}"]),
            Effect = Clicked(submit),
        });
        b.Footer();
    }

    private static void List(PageBuilder b)
    {
        PageRandom r = b.R;
        string title = r.Pick(["My tasks", "Reading list", "Saved items", "Projects", "Files", "Playlists", "Notes", "Inbox"]);
        b.Title(title);
        b.Header(title, b.NavLinks(r.Int(0, 4), clickTargets: false), "");
        if (r.Chance(0.4))
        {
            b.Distractor();
        }

        string filter = b.NewId();
        bool hasFilter = r.Chance(0.5);
        if (hasFilter)
        {
            b.Body.Append(CultureInfo.InvariantCulture, $"<div class=\"row\"><input data-gen=\"{filter}\" placeholder=\"Filter\" aria-label=\"Filter\"></div>");
        }

        List<string> actions = r.Distinct(b.W["row_actions"], r.Int(1, 4));
        int count = r.Int(4, 31);
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        b.Body.Append("<main><ul class=\"list\">");
        for (int i = 0; i < count; i++)
        {
            string name;
            do
            {
                name = Cap(r.Pick(b.W["adjectives"])) + " " + r.Pick(r.Chance(0.5) ? b.W["nouns"] : b.W["filler"]);
            }
            while (!names.Add(name));

            b.Body.Append(CultureInfo.InvariantCulture, $"<li><span class=\"label\">{E(name)}</span><span class=\"actions\">");
            foreach (string action in actions)
            {
                string id = b.NewId();
                bool link = r.Chance(0.3);
                b.Body.Append(link
                    ? $"<a href=\"#{id}\" data-gen=\"{id}\">{E(action)}</a> "
                    : $"<button class=\"btn small\" data-gen=\"{id}\">{E(action)}</button> ");
                if (r.Chance(0.35))
                {
                    string n = name.ToLowerInvariant();
                    b.Add(new PageTarget
                    {
                        GenId = id, Action = TargetAction.Click,
                        Instruction = r.Pick([$"click {action} next to {n}", $"use {action} on the item {name}", $"press {action} for \"{name}\""]),
                        Effect = Clicked(id),
                    });
                }
            }

            b.Body.Append("</span></li>");
        }

        b.Body.Append("</ul></main>");
        if (hasFilter)
        {
            string q = r.Pick(b.W["adjectives"]);
            b.Add(new PageTarget
            {
                GenId = filter, Action = TargetAction.Type, Value = q, ExpectedName = "Filter",
                Instruction = r.Pick([$"filter the list by {q}", $"type {q} into Filter"]),
                Effect = ValueIs(filter, q),
            });
        }

        b.Footer();
    }

    private static void Table(PageBuilder b)
    {
        PageRandom r = b.R;
        string title = r.Pick(["Customers", "Members", "Orders", "Employees", "Contacts", "Bookings"]);
        b.Title(title);
        b.Header(title, b.NavLinks(r.Int(2, 6), clickTargets: true), "");
        b.Distractor();
        string action = r.Pick(b.W["row_actions"]);
        string numberHeader = r.Pick(["Orders", "Points", "Age", "Total", "Seats"]);
        int rows = r.Int(3, 16);
        var people = new HashSet<string>(StringComparer.Ordinal);
        b.Body.Append(CultureInfo.InvariantCulture, $"<main><table><thead><tr><th>Name</th><th>City</th><th>{numberHeader}</th><th></th></tr></thead><tbody>");
        for (int i = 0; i < rows; i++)
        {
            string person;
            do
            {
                person = r.Pick(b.W["first_names"]) + " " + r.Pick(b.W["last_names"]);
            }
            while (!people.Add(person));

            string id = b.NewId();
            string city = r.Pick(b.W["cities"]);
            bool link = r.Chance(0.4);
            b.Body.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(person)}</td><td>{E(city)}</td><td>{r.Int(1, 500)}</td><td>")
                .Append(link ? $"<a href=\"#{id}\" data-gen=\"{id}\">{E(action)}</a>" : $"<button class=\"btn small\" data-gen=\"{id}\">{E(action)}</button>")
                .Append("</td></tr>");
            if (r.Chance(0.4))
            {
                b.Add(new PageTarget
                {
                    GenId = id, Action = TargetAction.Click,
                    Instruction = r.Pick([$"click {action} in the row of {person}", $"use {action} on the row of {person}", $"press {action} for {person} from {city}"]),
                    Effect = Clicked(id),
                });
            }
        }

        b.Body.Append("</tbody></table></main>");
        b.Footer();
    }

    private static void Menu(PageBuilder b)
    {
        PageRandom r = b.R;
        string site = Cap(r.Pick(b.W["adjectives"])) + " " + Cap(r.Pick(b.W["filler"]));
        b.Title(site);
        List<string> menus = r.Distinct(b.W["menus"], r.Int(2, 6));
        int open = r.Chance(0.5) ? r.Int(0, menus.Count) : -1; // a menu opened by a click earlier: its items are visible
        var bar = new StringBuilder("<nav class=\"menubar\">");
        var usedItems = new HashSet<string>(StringComparer.Ordinal);
        for (int m = 0; m < menus.Count; m++)
        {
            string id = b.NewId();
            List<string> items = r.Distinct(b.W["menu_items"].Where(i => !usedItems.Contains(i)).ToList(), r.Int(2, 6));
            usedItems.UnionWith(items);
            bar.Append(CultureInfo.InvariantCulture, $"<div class=\"menu{(m == open ? " open" : "")}\"><button class=\"menubtn\" data-gen=\"{id}\" aria-haspopup=\"true\" aria-expanded=\"{(m == open ? "true" : "false")}\">{E(menus[m])} ▾</button><div class=\"sub\">");
            foreach (string item in items)
            {
                string itemId = b.NewId();
                bar.Append(CultureInfo.InvariantCulture, $"<a href=\"#{itemId}\" data-gen=\"{itemId}\">{E(item)}</a>");
                if (m == open)
                {
                    b.Add(new PageTarget
                    {
                        GenId = itemId, Action = TargetAction.Click, ExpectedName = item,
                        Instruction = r.Pick([$"click {item} in the {menus[m]} menu", $"open {menus[m]} > {item}", $"go to {item}"]),
                        Effect = Clicked(itemId),
                    });
                }
            }

            bar.Append("</div></div>");
            if (m != open)
            {
                b.Add(new PageTarget
                {
                    GenId = id, Action = TargetAction.Hover, ExpectedName = menus[m] + " ▾",
                    Instruction = r.Pick([$"hover over the {menus[m]} menu", $"move the mouse over {menus[m]}", $"show the {menus[m]} menu by hovering"]),
                    Effect = $"__gen.hovered.includes({Js(id)})",
                });
            }
        }

        bar.Append("</nav>");
        b.Body.Append(CultureInfo.InvariantCulture, $"<header class=\"top\"><strong class=\"logo\">{E(site)}</strong>{bar}</header>");
        b.Distractor();
        b.Distractor();
        b.Footer();
    }

    private static void Dialog(PageBuilder b)
    {
        PageRandom r = b.R;
        string site = Cap(r.Pick(b.W["adjectives"])) + " " + Cap(r.Pick(b.W["nouns"]));
        b.Title(site);
        b.Header(site, b.NavLinks(r.Int(2, 5), clickTargets: false), "");
        b.Distractor();
        b.Distractor();
        string title = r.Pick(b.W["dialog_titles"]);
        List<string> buttons = r.Distinct(b.W["dialog_buttons"], r.Int(1, 4));
        var d = new StringBuilder();
        d.Append(CultureInfo.InvariantCulture, $"<div class=\"overlay\"><div class=\"dialog\" role=\"dialog\" aria-modal=\"true\" aria-label=\"{E(title)}\"><h2>{E(title)}</h2>");
        string closeId = b.NewId();
        if (r.Chance(0.5))
        {
            d.Append(CultureInfo.InvariantCulture, $"<button class=\"close\" data-gen=\"{closeId}\" aria-label=\"Close dialog\">×</button>");
            b.Add(new PageTarget
            {
                GenId = closeId, Action = TargetAction.Click, ExpectedName = "Close dialog",
                Instruction = r.Pick(["close the dialog", "dismiss the dialog with the × button", "click the close button of the dialog"]),
                Effect = Clicked(closeId),
            });
        }

        d.Append(CultureInfo.InvariantCulture, $"<p>{E(b.Sentence(r.Int(6, 16)))}</p>");
        if (r.Chance(0.5))
        {
            string label = r.Pick(b.W["text_fields"]);
            string id = b.NewId();
            string value = ValueFor(label, r, b.W);
            d.Append(b.Field(id, label, false));
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Type, Value = value, ExpectedName = label,
                Instruction = r.Pick([$"type {value} into {label} in the dialog", $"enter {value} as {label}"]),
                Effect = ValueIs(id, value),
            });
        }

        d.Append("<div class=\"row right\">");
        foreach (string label in buttons)
        {
            string id = b.NewId();
            d.Append(CultureInfo.InvariantCulture, $"<button class=\"btn{(r.Chance(0.4) ? " secondary" : "")}\" data-gen=\"{id}\">{E(label)}</button> ");
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Click, ExpectedName = label,
                Instruction = r.Pick([$"click {label} in the dialog", $"answer the dialog with {label}", $"press {label}"]),
                Effect = Clicked(id),
            });
        }

        d.Append("</div></div></div>");
        b.Footer();
        b.Body.Append(d);
    }

    private static void NavBar(PageBuilder b)
    {
        PageRandom r = b.R;
        string site = Cap(r.Pick(b.W["adjectives"])) + " " + Cap(r.Pick(b.W["filler"]));
        b.Title(site);
        List<string> links = r.Distinct(b.W["nav_links"], r.Int(3, 9));
        var nav = new StringBuilder();
        foreach (string link in links.Take(links.Count - 2))
        {
            string id = b.NewId();
            nav.Append(CultureInfo.InvariantCulture, $"<a href=\"#{id}\" data-gen=\"{id}\">{E(link)}</a>");
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Click, ExpectedName = link,
                Instruction = r.Pick([$"go to {link}", $"open the {link} page", $"click {link} in the navigation bar", $"click the {link} link"]),
                Effect = Clicked(id),
            });
        }

        b.Header(site, nav.ToString(), "");
        string cta = b.NewId();
        string ctaLabel = r.Pick(["Get started", "Learn more", "Try it free", "Book a demo", "See plans", "Join now"]);
        b.Body.Append(CultureInfo.InvariantCulture, $"<section class=\"hero\"><h1>{E(Cap(b.Sentence(r.Int(3, 7))))}</h1><p>{E(b.Sentence(r.Int(8, 20)))}</p><button class=\"btn big\" data-gen=\"{cta}\">{E(ctaLabel)}</button></section>");
        b.Add(new PageTarget
        {
            GenId = cta, Action = TargetAction.Click, ExpectedName = ctaLabel,
            Instruction = r.Pick([$"click {ctaLabel}", $"press the {ctaLabel} button"]),
            Effect = Clicked(cta),
        });
        // The last two links sit in a sidebar: the same vocabulary in another place.
        b.Body.Append("<aside class=\"side\">");
        foreach (string link in links.Skip(links.Count - 2))
        {
            string id = b.NewId();
            b.Body.Append(CultureInfo.InvariantCulture, $"<a href=\"#{id}\" data-gen=\"{id}\">{E(link)}</a>");
            b.Add(new PageTarget
            {
                GenId = id, Action = TargetAction.Click, ExpectedName = link,
                Instruction = r.Pick([$"open {link} from the sidebar", $"click the {link} link"]),
                Effect = Clicked(id),
            });
        }

        b.Body.Append("</aside>");
        b.Distractor();
        b.Footer();
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    internal static string E(string s) => WebUtility.HtmlEncode(s);

    internal static string Js(string s) => JsonSerializer.Serialize(s);

    internal static string Cap(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Clicked(string id) => $"__gen.clicked.includes({Js(id)})";

    private static string ValueIs(string id, string value) => $"document.querySelector('[data-gen=\"{id}\"]').value==={Js(value)}";

    private static string ValueFor(string label, PageRandom r, Words w)
    {
        string first = r.Pick(w["first_names"]), last = r.Pick(w["last_names"]);
        return label switch
        {
            "Name" or "Full name" => first + " " + last,
            "First name" or "Nickname" => first,
            "Last name" => last,
            "Email" or "Email address" => $"{first.ToLowerInvariant()}.{last.ToLowerInvariant()}@example.com",
            "Phone" => $"+{r.Int(1, 99)} {r.Int(100, 999)} {r.Int(1000, 9999)}",
            "City" => r.Pick(w["cities"]),
            "Street" => $"{r.Int(1, 200)} {Cap(r.Pick(w["adjectives"]))} Street",
            "Postal code" => r.Int(10000, 99999).ToString(CultureInfo.InvariantCulture),
            "Username" => first.ToLowerInvariant() + r.Int(1, 100).ToString(CultureInfo.InvariantCulture),
            "Website" => $"{r.Pick(w["nouns"])}.example.org",
            "Coupon code" => r.Pick(w["filler"]).ToUpperInvariant() + r.Int(5, 50).ToString(CultureInfo.InvariantCulture),
            "Company" => Cap(r.Pick(w["adjectives"])) + " " + Cap(r.Pick(w["nouns"])) + " Ltd",
            _ => Cap(r.Pick(w["adjectives"])) + " " + r.Pick(w["filler"]),
        };
    }
}
