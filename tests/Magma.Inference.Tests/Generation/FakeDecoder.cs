using Magma.Inference.Generation;

namespace Magma.Inference.Tests.Generation;

/// <summary>A decoder whose logits are scripted per step; records the tokens fed back.</summary>
internal sealed class FakeDecoder(int vocab, Func<int, float[]> logitsForStep, int capacity = 1000, int promptLength = 1) : IDecodeSteps
{
    private float[] _logits = logitsForStep(0);

    public List<int> Fed { get; } = [];

    public int Position { get; private set; } = promptLength;

    public int Capacity => capacity;

    public Span<float> CurrentLogits => _logits;

    public int Vocab => vocab;

    public void Step(int tokenId)
    {
        Fed.Add(tokenId);
        Position++;
        _logits = logitsForStep(Fed.Count);
    }
}

/// <summary>Maps token ids to fixed strings.</summary>
internal sealed class FakeText(Func<int, string> text) : ITextStream
{
    public string Append(int tokenId) => text(tokenId);

    public string Flush() => string.Empty;
}

internal static class Logits
{
    /// <summary>A vector where <paramref name="winner"/> has the highest logit.</summary>
    public static float[] Peaked(int vocab, int winner)
    {
        var l = new float[vocab];
        l[winner] = 10f;
        return l;
    }

    public static GenerationLoop Loop(FakeDecoder d, GenerationOptions o, int[]? stops = null, Func<int, string>? text = null, ulong seed = 1) =>
        new(d, new FakeText(text ?? (i => $"<{i}>")), o, stops ?? [], seed);

    public static List<int> RunAll(GenerationLoop loop, out string text, CancellationToken ct = default)
    {
        var ids = new List<int>();
        var sb = new System.Text.StringBuilder();
        while (loop.MoveNext(ct, out int id, out string delta))
        {
            ids.Add(id);
            sb.Append(delta);
        }

        text = sb.ToString();
        return ids;
    }
}
