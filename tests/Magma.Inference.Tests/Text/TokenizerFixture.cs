using Magma.Inference.Text;

namespace Magma.Inference.Tests.Text;

/// <summary>Loads the committed LLaMA-3 + Magma tokenizer once per test run (the 9 MB JSON takes a few hundred ms).</summary>
internal static class TokenizerFixture
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "assets", "tokenizer");

    private static readonly Lazy<MagmaTokenizer> Shared = new(() => MagmaTokenizer.Load(Directory));

    public static MagmaTokenizer Tokenizer => Shared.Value;
}
