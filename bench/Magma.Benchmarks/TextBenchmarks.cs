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
        new(ChatRole.User, MagmaPrompts.UiClick("Sign in", useImageStartEnd: true)),
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

    [Benchmark(Description = "Encode UI grounding chat (template)")]
    public int EncodeChat() => ChatTemplate.Llama3.Encode(_chat, _tokenizer).Length;
}
