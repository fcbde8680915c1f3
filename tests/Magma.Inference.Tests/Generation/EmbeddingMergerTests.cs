using Magma.Inference.Generation;
using Magma.Inference.Imaging;

namespace Magma.Inference.Tests.Generation;

public sealed class EmbeddingMergerTests
{
    // One "element" per vector (vectorBytes = 1) keeps the layout readable: value = crop*100 + y*10 + x.
    [Fact]
    public void Stitch_places_crop_features_spatially_and_appends_a_separator_per_row()
    {
        const int g = 2;
        var grid = new CropGrid(1, 2);
        byte[] features = new byte[2 * g * g];
        for (int crop = 0; crop < 2; crop++)
        {
            for (int y = 0; y < g; y++)
            {
                for (int x = 0; x < g; x++)
                {
                    features[(crop * g * g) + (y * g) + x] = (byte)((crop * 100) + (y * 10) + x);
                }
            }
        }

        byte[] dest = new byte[EmbeddingMerger.ImageTokenCount(grid, g)];
        EmbeddingMerger.Stitch(features, [255], grid, g, dest);
        Assert.Equal(new byte[] { 0, 1, 100, 101, 255, 10, 11, 110, 111, 255 }, dest);
    }

    [Fact]
    public void Stitch_two_rows_of_crops()
    {
        const int g = 1;
        var grid = new CropGrid(2, 2);
        byte[] dest = new byte[EmbeddingMerger.ImageTokenCount(grid, g)];
        EmbeddingMerger.Stitch([1, 2, 3, 4], [9], grid, g, dest);
        Assert.Equal(new byte[] { 1, 2, 9, 3, 4, 9 }, dest);
    }

    [Fact]
    public void Image_token_count_matches_the_spec_formula()
    {
        Assert.Equal(272, EmbeddingMerger.ImageTokenCount(new CropGrid(1, 1), 16));
        Assert.Equal(1056, EmbeddingMerger.ImageTokenCount(new CropGrid(2, 2), 16));
        Assert.Equal(528, EmbeddingMerger.ImageTokenCount(new CropGrid(1, 2), 16));
    }

    [Fact]
    public void Merge_replaces_each_image_id_in_place_by_its_block()
    {
        int[] ids = [1, 99, 2, 99, 3];
        byte[] text = [10, 0, 20, 0, 30];
        byte[][] blocks = [[7, 7], [8]];
        int length = EmbeddingMerger.MergedLength(ids, 99, [2, 1]);
        Assert.Equal(6, length);
        byte[] dest = new byte[length];
        EmbeddingMerger.Merge(ids, 99, text, blocks, 1, dest);
        Assert.Equal(new byte[] { 10, 7, 7, 20, 8, 30 }, dest);
    }

    [Fact]
    public void Placeholder_count_must_equal_image_count()
    {
        MagmaInputException ex = Assert.Throws<MagmaInputException>(() => EmbeddingMerger.MergedLength([1, 99, 99], 99, [5]));
        Assert.Contains("2 <image> placeholder(s) but the request carries 1 image(s)", ex.Message, StringComparison.Ordinal);
    }
}
