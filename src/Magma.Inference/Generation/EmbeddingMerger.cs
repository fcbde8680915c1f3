using Magma.Inference.Imaging;

namespace Magma.Inference.Generation;

/// <summary>
/// Builds the decoder's input sequence (spec §3.4, §4.2). This is the one place crops are stitched and row
/// separators are added: crop (r,c) feature (y,x) goes to (r·g+y, c·g+x) and one separator follows every
/// feature row; each &lt;image&gt; id is then replaced in place by its image's block. Works on raw element bytes,
/// so float32 and float16 graphs share the code.
/// </summary>
internal static class EmbeddingMerger
{
    /// <summary>Embeddings one image contributes: g·rows·(g·cols + 1).</summary>
    public static int ImageTokenCount(CropGrid grid, int featureGrid) =>
        checked(featureGrid * grid.Rows * ((featureGrid * grid.Cols) + 1));

    /// <summary>Stitches one image's crop features ([rows·cols, g, g, H]) into <paramref name="destination"/>.</summary>
    public static void Stitch(
        ReadOnlySpan<byte> cropFeatures, ReadOnlySpan<byte> separator, CropGrid grid, int featureGrid, Span<byte> destination)
    {
        int vec = separator.Length;
        int g = featureGrid;
        int rowOut = ((g * grid.Cols) + 1) * vec;
        if (cropFeatures.Length != grid.CropCount * g * g * vec || destination.Length < grid.Rows * g * rowOut)
        {
            throw new ArgumentException("Feature or destination size does not match the crop grid.");
        }

        for (int r = 0; r < grid.Rows; r++)
        {
            for (int y = 0; y < g; y++)
            {
                Span<byte> row = destination.Slice(((r * g) + y) * rowOut, rowOut);
                for (int c = 0; c < grid.Cols; c++)
                {
                    int crop = (r * grid.Cols) + c;
                    // One crop row of g features is contiguous in [g,g,H] channels-last layout.
                    cropFeatures.Slice(((crop * g * g) + (y * g)) * vec, g * vec).CopyTo(row.Slice(c * g * vec, g * vec));
                }

                separator.CopyTo(row[(g * grid.Cols * vec)..]);
            }
        }
    }

    /// <summary>Final sequence length T = L - K + Σ N_img(k); checks that placeholders and images agree.</summary>
    public static int MergedLength(ReadOnlySpan<int> ids, int imageTokenId, ReadOnlySpan<int> imageTokenCounts)
    {
        int placeholders = 0;
        foreach (int id in ids)
        {
            if (id == imageTokenId)
            {
                placeholders++;
            }
        }

        if (placeholders != imageTokenCounts.Length)
        {
            throw new MagmaInputException(
                $"The prompt has {placeholders} <image> placeholder(s) but the request carries {imageTokenCounts.Length} image(s); put one ChatContent.Image (MagmaPrompts.Image) in the turns per image, in order; '<image>' written in text is plain text, not a placeholder.");
        }

        long total = ids.Length - placeholders;
        foreach (int n in imageTokenCounts)
        {
            total += n;
        }

        return checked((int)total);
    }

    /// <summary>
    /// Walks <paramref name="ids"/>: text ids copy their row of <paramref name="textEmbeddings"/> ([L,H]); the k-th
    /// image id is replaced by <paramref name="imageBlocks"/>[k].
    /// </summary>
    public static void Merge(
        ReadOnlySpan<int> ids, int imageTokenId, ReadOnlySpan<byte> textEmbeddings, IReadOnlyList<byte[]> imageBlocks, int vectorBytes, Span<byte> destination)
    {
        int write = 0;
        int image = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == imageTokenId)
            {
                byte[] block = imageBlocks[image++];
                block.CopyTo(destination[write..]);
                write += block.Length;
            }
            else
            {
                textEmbeddings.Slice(i * vectorBytes, vectorBytes).CopyTo(destination[write..]);
                write += vectorBytes;
            }
        }
    }
}
