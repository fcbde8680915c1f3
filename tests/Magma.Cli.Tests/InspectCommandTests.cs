using System.Text.Json;

namespace Magma.Cli.Tests;

public sealed class InspectCommandTests
{
    [Fact]
    public async Task Valid_package_prints_manifest_sizes_and_token_ids()
    {
        CliRun run = await Cli.RunAsync("inspect", Cli.TinyModel);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("", run.Err);
        Assert.Contains("magma-agents/tiny-magma-random", run.Out, StringComparison.Ordinal);
        Assert.Contains("bos 128000, eos [128009], pad 128256, image 128257", run.Out, StringComparison.Ordinal);
        Assert.Contains("decoder.onnx", run.Out, StringComparison.Ordinal);
        Assert.Contains("MiB", run.Out, StringComparison.Ordinal);
        Assert.Contains("sessions check out", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_output_has_manifest_files_and_tokens()
    {
        CliRun run = await Cli.RunAsync("inspect", Cli.TinyModel, "--json");

        Assert.Equal(0, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement root = doc.RootElement;
        Assert.True(root.GetProperty("valid").GetBoolean());
        Assert.Equal(128000, root.GetProperty("manifest").GetProperty("tokens").GetProperty("bos").GetInt32());
        Assert.Equal(128262, root.GetProperty("tokenizer_max_id").GetInt32());
        JsonElement decoder = root.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "decoder.onnx");
        Assert.Equal(new FileInfo(Path.Combine(Cli.TinyModel, "decoder.onnx")).Length, decoder.GetProperty("bytes").GetInt64());
        Assert.Equal(root.GetProperty("files").EnumerateArray().Sum(f => f.GetProperty("bytes").GetInt64()), root.GetProperty("total_bytes").GetInt64());
    }

    [Fact]
    public async Task The_repositorys_tiny_package_is_complete_straight_from_the_clone()
    {
        CliRun run = await Cli.RunAsync("inspect", Cli.RepositoryTinyModel, "--json");

        Assert.True(run.ExitCode == 0, run.Err);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        Dictionary<string, long> files = doc.RootElement.GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("bytes").GetInt64());
        // The real LLaMA-3 tokenizer (through the link to tests/assets/tokenizer), and statistics for robot actions.
        Assert.Equal(new FileInfo(Path.Combine(Cli.RepositoryTinyModel, "..", "tokenizer", "tokenizer.json")).Length, files["tokenizer.json"]);
        Assert.True(files.ContainsKey("dataset_statistics.json"));
        Assert.Equal(128262, doc.RootElement.GetProperty("tokenizer_max_id").GetInt32());
    }

    [Fact]
    public async Task Missing_file_exits_1_and_names_the_file_without_a_stack_trace()
    {
        string dir = Cli.CopyTinyModel();
        try
        {
            File.Delete(Path.Combine(dir, "preprocessor_config.json"));

            CliRun run = await Cli.RunAsync("inspect", dir);

            Assert.Equal(1, run.ExitCode);
            Assert.Equal("", run.Out);
            Assert.StartsWith("magma: invalid model package: preprocessor_config.json: file is missing", run.Err, StringComparison.Ordinal);
            // Where the file comes from, not "copy it from the checkpoint" (a tiny-package user has none).
            Assert.Contains("tools/export/export_magma.py copies it", run.Err, StringComparison.Ordinal);
            Assert.DoesNotContain(" at ", run.Err, StringComparison.Ordinal);
            Assert.Single(run.Err.TrimEnd().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Missing_graph_with_json_prints_valid_false_and_the_reason()
    {
        string dir = Cli.CopyTinyModel();
        try
        {
            File.Delete(Path.Combine(dir, "vision.onnx"));

            CliRun run = await Cli.RunAsync("inspect", dir, "--json");

            Assert.Equal(1, run.ExitCode);
            using JsonDocument doc = JsonDocument.Parse(run.Out);
            Assert.False(doc.RootElement.GetProperty("valid").GetBoolean());
            Assert.Contains("vision.onnx", doc.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Contains("vision.onnx", run.Err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Corrupt_graph_fails_only_when_sessions_are_created()
    {
        string dir = Cli.CopyTinyModel();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "decoder.onnx"), "not a graph");

            CliRun loaded = await Cli.RunAsync("inspect", dir);
            CliRun filesOnly = await Cli.RunAsync("inspect", dir, "--no-load");

            Assert.Equal(1, loaded.ExitCode);
            Assert.StartsWith("magma: invalid model package: decoder.onnx:", loaded.Err, StringComparison.Ordinal);
            Assert.Equal(0, filesOnly.ExitCode);
            Assert.Contains("sessions not created: --no-load", filesOnly.Out, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Missing_folder_exits_1()
    {
        CliRun run = await Cli.RunAsync("inspect", Path.Combine(Path.GetTempPath(), "no-such-magma-" + Guid.NewGuid().ToString("N")));

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("does not exist", run.Err, StringComparison.Ordinal);
    }
}
