using System.Globalization;
using Magma.WebDataGen;

// Usage (see docs/web-data.md):
//   dotnet run --project tools/web-datagen -c Release -- --out out/web-data/train --first-seed 0 --pages 2000
//       [--image-start-end true|false] [--no-ui-click] [--no-episodes] [--eval-model <package>]
string? Arg(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine("web-datagen --out <folder> [--first-seed N] [--pages N] [--image-start-end true|false] [--no-ui-click] [--no-episodes] [--eval-model <package>]");
    Console.WriteLine("--eval-model: also answer each page's single-step examples with that model through the web policy (eval.jsonl, eval.json).");
    Console.WriteLine("Seeds: training 0-899999, validation 900000-999999, held out (never train on them) 1000000 and up.");
    return 0;
}

var options = new DataGenOptions
{
    Output = Arg("--out") ?? "out/web-data/train",
    FirstSeed = int.Parse(Arg("--first-seed") ?? "0", CultureInfo.InvariantCulture),
    Pages = int.Parse(Arg("--pages") ?? "100", CultureInfo.InvariantCulture),
    ImageStartEnd = bool.Parse(Arg("--image-start-end") ?? "true"),
    UiClick = !args.Contains("--no-ui-click"),
    Episodes = !args.Contains("--no-episodes"),
    EvalModel = Arg("--eval-model"),
};
Console.WriteLine($"web-datagen v{PageGenerator.Version}: seeds {options.FirstSeed}..{options.FirstSeed + options.Pages - 1} -> {Path.GetFullPath(options.Output)}");
Manifest m = await DataGenerator.RunAsync(options, Console.WriteLine);
if (options.EvalModel is not null)
{
    Console.WriteLine(File.ReadAllText(Path.Combine(options.Output, "eval.json")));
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{m.Examples} examples from {m.Pages} pages ({m.Dropped} of {m.Targets} targets dropped) in {m.Seconds:0.0} s: {m.ExamplesPerMinute:0} examples/min"));
return 0;
