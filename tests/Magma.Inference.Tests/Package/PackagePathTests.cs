using System.Text.Json.Nodes;
using Magma.Inference.Package;

namespace Magma.Inference.Tests.Package;

/// <summary>Every file a manifest names is confined to the package folder; listed weights must exist.</summary>
public sealed class PackagePathTests
{
    private static MagmaPackageException Fails(TempPackage p) => Assert.Throws<MagmaPackageException>(() => MagmaPackage.Open(p.Directory));

    /// <summary>A real file outside the package, so only the confinement (not a missing file) can refuse it.</summary>
    private static string OutsideFile(TempPackage p)
    {
        string outside = Path.Combine(Path.GetDirectoryName(p.Directory)!, Path.GetFileName(p.Directory) + "-outside.onnx");
        File.WriteAllBytes(outside, [0]);
        return outside;
    }

    [Theory]
    [InlineData("vision", "vision.file")]
    [InlineData("embed", "embed.file")]
    [InlineData("decoder", "decoder.file")]
    public void Graph_file_climbing_out_of_the_package_is_refused(string section, string field)
    {
        using var p = new TempPackage();
        string outside = OutsideFile(p);
        try
        {
            string value = "../" + Path.GetFileName(outside);
            p.Manifest[section]!["file"] = value;
            p.Save();
            MagmaPackageException ex = Fails(p);
            Assert.StartsWith($"magma.json: field '{field}' is \"{value}\", which is outside the package folder", ex.Message, StringComparison.Ordinal);
            Assert.Contains("relative to magma.json without '..'", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public void Absolute_graph_path_is_refused_even_when_it_points_into_the_package()
    {
        using var p = new TempPackage();
        p.Manifest["decoder"]!["file"] = Path.Combine(p.Directory, "decoder.onnx");
        p.Save();
        Assert.StartsWith("magma.json: field 'decoder.file' is \"/", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dot_dot_inside_a_path_is_refused()
    {
        using var p = new TempPackage();
        Directory.CreateDirectory(Path.Combine(p.Directory, "sub"));
        p.Manifest["vision"]!["file"] = "sub/../vision.onnx";
        p.Save();
        Assert.Contains("field 'vision.file'", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Graph_file_in_a_subfolder_is_accepted()
    {
        using var p = new TempPackage();
        Directory.CreateDirectory(Path.Combine(p.Directory, "graphs"));
        File.Move(Path.Combine(p.Directory, "vision.onnx"), Path.Combine(p.Directory, "graphs", "vision.onnx"));
        p.Manifest["vision"]!["file"] = "graphs/vision.onnx";
        p.Save();
        Assert.Equal(Path.Combine(p.Directory, "graphs", "vision.onnx"), MagmaPackage.Open(p.Directory).VisionPath);
    }

    [Fact]
    public void Symbolic_links_are_followed_as_the_hub_cache_stores_files()
    {
        // The Hugging Face cache keeps snapshots/<rev>/file as links to ../../blobs/<hash>: outside the folder, legitimately.
        using var p = new TempPackage();
        string outside = OutsideFile(p);
        try
        {
            File.Delete(Path.Combine(p.Directory, "embed.onnx"));
            File.CreateSymbolicLink(Path.Combine(p.Directory, "embed.onnx"), outside);
            Assert.Equal(Path.Combine(p.Directory, "embed.onnx"), MagmaPackage.Open(p.Directory).EmbedPath);
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [Fact]
    public void Listed_weights_file_must_exist()
    {
        using var p = new TempPackage();
        File.WriteAllBytes(Path.Combine(p.Directory, "vision.data"), [0]);
        p.Manifest["weights_files"] = new JsonArray("vision.data", "text.data");
        p.Save();
        MagmaPackageException ex = Fails(p);
        Assert.StartsWith("magma.json: field 'weights_files[1]' names \"text.data\", which is missing from", ex.Message, StringComparison.Ordinal);
        Assert.Contains("copy it from the exporter's output folder", ex.Message, StringComparison.Ordinal);

        File.WriteAllBytes(Path.Combine(p.Directory, "text.data"), [0]);
        Assert.Equal(new[] { "vision.data", "text.data" }, MagmaPackage.Open(p.Directory).Manifest.WeightsFiles);
    }

    [Fact]
    public void Listed_weights_file_outside_the_package_is_refused()
    {
        using var p = new TempPackage();
        p.Manifest["weights_files"] = new JsonArray("/etc/hostname");
        p.Save();
        Assert.StartsWith("magma.json: field 'weights_files[0]' is \"/etc/hostname\", which is outside", Fails(p).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_files_of_the_wrong_type_are_named()
    {
        using var p = new TempPackage();
        p.Manifest["weights_files"] = new JsonArray("vision.data", 3);
        p.Save();
        Assert.StartsWith("magma.json: field 'weights_files[1]' must be a non-empty file name, not 3", Fails(p).Message, StringComparison.Ordinal);
    }
}
