using Magma.Inference.Imaging;

namespace Magma.Tasks.Marks;

/// <summary>A Set-of-Mark screenshot and which box each mark number stands for.</summary>
public sealed class SetOfMarkResult
{
    internal SetOfMarkResult(RgbImage image, IReadOnlyDictionary<int, MarkBox> marks, IReadOnlyDictionary<int, MarkBox> labels)
    {
        Image = image;
        Marks = marks;
        Labels = labels;
    }

    /// <summary>The marked image, same size as the input.</summary>
    public RgbImage Image { get; }

    /// <summary>Mark number → box (input pixels). Resolve the model's <c>Mark: N</c> answers through this map.</summary>
    public IReadOnlyDictionary<int, MarkBox> Marks { get; }

    /// <summary>Mark number → where its label rectangle was drawn (pixels).</summary>
    public IReadOnlyDictionary<int, MarkBox> Labels { get; }

    /// <summary>The marked image as PNG bytes.</summary>
    public byte[] EncodePng() => Image.EncodePng();
}
