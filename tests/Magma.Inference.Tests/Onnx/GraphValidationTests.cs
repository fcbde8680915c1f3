using System.Text.Json.Nodes;
using Magma.Inference.Onnx;
using Magma.Inference.Tests.Engine;

namespace Magma.Inference.Tests.Onnx;

/// <summary>Graph names/dims against the manifest, checked at session creation on copies of the tiny package.</summary>
public sealed class GraphValidationTests
{
    /// <summary>Links the tiny package's files into a temp folder with an editable magma.json.</summary>
    private sealed class TinyCopy : IDisposable
    {
        public TinyCopy()
        {
            Directory = Path.Combine(Path.GetTempPath(), "magma-tiny-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(Directory);
            foreach (string f in System.IO.Directory.GetFiles(TinyMagma.Directory))
            {
                if (Path.GetFileName(f) != "magma.json")
                {
                    File.CreateSymbolicLink(Path.Combine(Directory, Path.GetFileName(f)), f);
                }
            }

            Manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(TinyMagma.Directory, "magma.json")))!.AsObject();
        }

        public string Directory { get; }

        public JsonObject Manifest { get; }

        public MagmaPackageException LoadFails()
        {
            File.WriteAllText(Path.Combine(Directory, "magma.json"), Manifest.ToJsonString());
            return Assert.Throws<MagmaPackageException>(() => MagmaModel.Load(Directory, new MagmaModelOptions { IntraOpThreads = 1 }).Dispose());
        }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    [Fact]
    public void Wrong_kv_head_count_names_the_graph_input_and_dims()
    {
        using var c = new TinyCopy();
        c.Manifest["decoder"]!["num_key_value_heads"] = 4;
        MagmaPackageException ex = c.LoadFails();
        Assert.StartsWith("decoder.onnx: input 'past_key_values.0.key' has dims", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[?,4,?,8]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_output_name_lists_the_real_ones()
    {
        using var c = new TinyCopy();
        c.Manifest["vision"]!["features_output"] = "features";
        MagmaPackageException ex = c.LoadFails();
        Assert.StartsWith("vision.onnx: the graph has no output named 'features'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("image_features", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fewer_layers_in_the_manifest_than_the_graph_is_caught()
    {
        using var c = new TinyCopy();
        c.Manifest["decoder"]!["num_layers"] = 1;
        Assert.Contains("more layers than magma.json field 'decoder.num_layers' = 1", c.LoadFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_layers_in_the_manifest_than_the_graph_is_caught()
    {
        using var c = new TinyCopy();
        c.Manifest["decoder"]!["num_layers"] = 3;
        Assert.Contains("no input named 'past_key_values.2.key'", c.LoadFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_vocab_size_is_caught_on_the_logits()
    {
        using var c = new TinyCopy();
        c.Manifest["decoder"]!["vocab_size"] = 128300;
        // config.json agrees with the graph, so the package check fires before any session and names both files.
        MagmaPackageException ex = c.LoadFails();
        Assert.StartsWith("config.json: field 'vocab_size' is 128263 but magma.json field 'decoder.vocab_size' is 128300", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Float16_manifest_over_float32_graphs_names_the_element_type()
    {
        using var c = new TinyCopy();
        c.Manifest["dtype"] = "float16";
        MagmaPackageException ex = c.LoadFails();
        Assert.Contains("element type Float but the engine expects Float16", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_external_weights_name_the_graph_not_an_ort_stack()
    {
        using var c = new TinyCopy();
        File.Delete(Path.Combine(c.Directory, "vision.data"));
        MagmaPackageException ex = c.LoadFails();
        // Listed in weights_files, so the package check names it before ONNX Runtime is asked.
        Assert.StartsWith("magma.json: field 'weights_files[0]' names \"vision.data\", which is missing", ex.Message, StringComparison.Ordinal);

        // Not listed, ONNX Runtime's load error is still wrapped and names the graph.
        c.Manifest.Remove("weights_files");
        ex = c.LoadFails();
        Assert.StartsWith("vision.onnx: ONNX Runtime cannot load this graph", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cuda_without_a_gpu_says_what_is_missing_and_that_cpu_works()
    {
        // This machine has no CUDA runtime; on a GPU box the load succeeds and there is nothing to check.
        if (File.Exists("/dev/nvidia0"))
        {
            return;
        }

        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(
            () => MagmaModel.Load(TinyMagma.Directory, new MagmaModelOptions { Device = MagmaDevice.Cuda }).Dispose());
        Assert.Contains("CUDA", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Device = MagmaDevice.Cpu works", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Group_query_attention_is_detected_from_the_graph_bytes()
    {
        // tiny-magma's decoder is the builder-style GroupQueryAttention graph; the embed graph has no attention at all.
        Assert.True(GraphContract.UsesGroupQueryAttention(Path.Combine(TinyMagma.Directory, "decoder.onnx")));
        Assert.False(GraphContract.UsesGroupQueryAttention(Path.Combine(TinyMagma.Directory, "embed.onnx")));
        string path = Path.Combine(Path.GetTempPath(), "gqa-" + Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            // Put the op type across the 1 MiB read boundary to exercise the carried overlap.
            byte[] bytes = new byte[(1 << 20) + 64];
            "GroupQueryAttention"u8.CopyTo(bytes.AsSpan((1 << 20) - 7));
            File.WriteAllBytes(path, bytes);
            Assert.True(GraphContract.UsesGroupQueryAttention(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
