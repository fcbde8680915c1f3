namespace Magma.Inference.Imaging;

/// <summary>
/// The crop grid chosen for one image: <paramref name="Rows"/> crops along the height, <paramref name="Cols"/> along
/// the width. This is what the reference processor returns as <c>image_sizes</c> (rows, cols) — crop counts, not pixels.
/// </summary>
/// <param name="Rows">Crops along the height.</param>
/// <param name="Cols">Crops along the width.</param>
public readonly record struct CropGrid(int Rows, int Cols)
{
    /// <summary>Number of crops, <c>Rows * Cols</c>.</summary>
    public int CropCount => Rows * Cols;
}
