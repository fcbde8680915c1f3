using System.CommandLine;
using System.Globalization;
using Magma.Inference;
using Magma.Inference.Package;

namespace Magma.Cli.Commands;

/// <summary><c>magma inspect &lt;package&gt;</c>: validates a package and prints its manifest, file sizes and token ids.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var package = new Argument<string>("package") { Description = "The model package folder (holds magma.json; written by tools/export)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text (also on failure: {\"valid\": false, \"error\": ...})." };
        var noLoad = new Option<bool>("--no-load") { Description = "Check files and manifest only; skip creating the ONNX Runtime sessions (fast, but graph input/output names are not checked)." };
        var command = new Command("inspect", "Validate a model package and print its manifest, file sizes and special token ids.")
        {
            package, json, noLoad,
        };
        CliHelp.SetEpilogue(command, """
            Examples:
              magma inspect ./magma-8b-onnx
              magma inspect ./magma-8b-onnx --no-load --json

            Exit codes: 0 valid, 1 invalid (the reason on stderr), 2 usage.
            """);
        command.SetAction((parse, ct) => RunAsync(parse.GetRequiredValue(package), parse.GetValue(json), parse.GetValue(noLoad),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    private static async Task<int> RunAsync(string directory, bool json, bool noLoad, TextWriter output, TextWriter error)
    {
        MagmaPackage package;
        try
        {
            package = MagmaPackage.Open(directory);
            if (!noLoad)
            {
                // Opening checks files and JSON; loading creates the sessions, which checks graph names and dims.
                using MagmaModel model = MagmaModel.Load(directory, new MagmaModelOptions { IntraOpThreads = 1 });
            }
        }
        catch (MagmaPackageException e)
        {
            if (json)
            {
                await output.WriteLineAsync(CliJson.Serialize(new { Valid = false, Path = Path.GetFullPath(directory), Error = e.Message })).ConfigureAwait(false);
            }

            await error.WriteLineAsync($"magma: invalid model package: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Error;
        }

        PackageFile[] files = [.. new DirectoryInfo(package.Directory).EnumerateFiles()
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            // A linked file (the repository's tiny package links its tokenizer.json) counts with its target's size.
            .Select(f => new PackageFile(f.Name, (f.LinkTarget is null ? f : f.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? f).Length))];
        var report = new InspectReport(true, package.Directory, !noLoad, package.TokenizerMaxId, files, files.Sum(f => f.Bytes), package.Manifest);
        await output.WriteLineAsync(json ? CliJson.Serialize(report) : Format(report)).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static string Format(InspectReport r)
    {
        MagmaManifest m = r.Manifest;
        CultureInfo c = CultureInfo.InvariantCulture;
        var s = new System.Text.StringBuilder();
        s.AppendLine(c, $"Package    {r.Path}");
        s.AppendLine(c, $"Model      {m.ModelId} (format {m.FormatVersion}, {m.DType})");
        if (m.Description is not null)
        {
            s.AppendLine(c, $"About      {m.Description}");
        }

        s.AppendLine(c, $"Vision     {m.Vision.File}: crop {m.Vision.CropSize} px, grid {m.Vision.FeatureGrid}x{m.Vision.FeatureGrid}, hidden {m.Vision.HiddenSize}, strategy {m.Vision.Strategy}");
        s.AppendLine(c, $"Embed      {m.Embed.File}: hidden {m.Embed.HiddenSize}");
        s.AppendLine(c, $"Decoder    {m.Decoder.File}: {m.Decoder.NumLayers} layers, {m.Decoder.NumAttentionHeads} heads ({m.Decoder.NumKeyValueHeads} KV), head dim {m.Decoder.HeadDim}, hidden {m.Decoder.HiddenSize}, vocab {m.Decoder.VocabSize}, context {m.Decoder.MaxPositionEmbeddings}");
        s.AppendLine(c, $"Tokens     bos {m.Tokens.Bos}, eos [{string.Join(", ", m.Tokens.Eos)}], pad {m.Tokens.Pad}, image {m.Tokens.Image}, base vocab {m.Tokens.BaseVocabSize}, tokenizer max id {r.TokenizerMaxId}");
        s.AppendLine(c, $"Images     {(m.UseImageStartEnd ? "wrapped in <image_start>/<image_end>" : "bare <image> placeholder")}");
        s.AppendLine("Files");
        int width = r.Files.Max(f => f.Name.Length);
        foreach (PackageFile f in r.Files)
        {
            s.AppendLine(c, $"  {f.Name.PadRight(width)}  {FormatBytes(f.Bytes),10}");
        }

        s.AppendLine(c, $"  {"total".PadRight(width)}  {FormatBytes(r.TotalBytes),10}");
        s.Append(r.SessionsChecked ? "Valid: files, manifest and ONNX Runtime sessions check out." : "Valid: files and manifest check out (sessions not created: --no-load).");
        return s.ToString();
    }

    internal static string FormatBytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F1} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F2} GiB"),
    };
}

/// <summary>One file of a package folder.</summary>
internal sealed record PackageFile(string Name, long Bytes);

/// <summary>What <c>magma inspect --json</c> prints for a valid package.</summary>
internal sealed record InspectReport(bool Valid, string Path, bool SessionsChecked, int TokenizerMaxId, IReadOnlyList<PackageFile> Files, long TotalBytes, MagmaManifest Manifest);
