using System.Text.Json.Nodes;

namespace Magma.Inference.Tests.Package;

/// <summary>A small valid package on disk (placeholder graph files; Open does not load them) that a test can break.</summary>
internal sealed class TempPackage : IDisposable
{
    public TempPackage()
    {
        Directory = Path.Combine(Path.GetTempPath(), "magma-pkg-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Manifest = JsonNode.Parse("""
        {
          "format_version": 1, "model_id": "test", "dtype": "float32",
          "vision": { "file": "vision.onnx", "input": "pixel_values", "features_output": "image_features",
                      "row_separator_output": "row_separator", "crop_size": 512, "feature_grid": 16, "hidden_size": 32, "strategy": "crop" },
          "embed": { "file": "embed.onnx", "input": "input_ids", "output": "inputs_embeds", "hidden_size": 32 },
          "decoder": { "file": "decoder.onnx", "num_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
                       "hidden_size": 32, "vocab_size": 300, "max_position_embeddings": 64, "has_position_ids": true },
          "tokens": { "bos": 256, "eos": [257], "pad": 258, "image": 259, "base_vocab_size": 256 },
          "mm_use_image_start_end": true
        }
        """)!.AsObject();
        foreach (string f in (string[])["vision.onnx", "embed.onnx", "decoder.onnx"])
        {
            File.WriteAllBytes(Path.Combine(Directory, f), [0]);
        }

        Write("config.json", """{ "text_config": { "vocab_size": 300 } }""");
        Write("preprocessor_config.json", "{}");
        Write("generation_config.json", """{ "eos_token_id": 257 }""");
        Write("tokenizer_config.json", "{}");
        var vocab = new JsonObject();
        for (int i = 0; i < 256; i++)
        {
            vocab["t" + i] = i;
        }

        Tokenizer = new JsonObject
        {
            ["model"] = new JsonObject { ["vocab"] = vocab },
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 256 }, new JsonObject { ["id"] = 259 }),
        };
        Save();
    }

    public string Directory { get; }

    public JsonObject Manifest { get; }

    public JsonObject Tokenizer { get; }

    public void Save()
    {
        Write("magma.json", Manifest.ToJsonString());
        Write("tokenizer.json", Tokenizer.ToJsonString());
    }

    public void Write(string name, string text) => File.WriteAllText(Path.Combine(Directory, name), text);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
