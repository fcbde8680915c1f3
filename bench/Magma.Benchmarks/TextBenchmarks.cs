using BenchmarkDotNet.Attributes;
using Magma.Inference.Text;

namespace Magma.Benchmarks;

/// <summary>Tokenizer throughput on ~100 KB of English (bench/assets/english.txt) and chat-template rendering.</summary>
[MemoryDiagnoser]
public class TextBenchmarks
{
    private MagmaTokenizer _tokenizer = null!;
    private string _text = "";
    private readonly List<int> _ids = new(64 * 1024);
    private readonly List<ChatTurn> _chat =
    [
        new(ChatRole.System, MagmaPrompts.SystemPrompt),
        new(ChatRole.User, "<image_start><image><image_end>\nIn this view I need to click a button to \"Sign in\"? Provide the coordinates and the mark index of the containing bounding box if applicable."),
    ];

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = MagmaTokenizer.Load(BenchmarkAssets.PathOf("tokenizer"));
        _text = BenchmarkAssets.EnglishText();
    }

    [Benchmark(Description = "Encode 100 KB English")]
    public int Encode()
    {
        _ids.Clear();
        _tokenizer.Encode(_text, _ids, addBeginOfText: false);
        return _ids.Count;
    }

    [Benchmark(Description = "Render + encode UI grounding chat")]
    public int RenderAndEncodeChat()
    {
        _ids.Clear();
        _tokenizer.Encode(ChatTemplate.Llama3.Render(_chat), _ids);
        return _ids.Count;
    }
}
