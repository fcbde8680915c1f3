using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Tests.Imaging;
using Magma.Inference.Text;
using SkiaSharp;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// Budgets are checked from image sizes before any pixel is decoded or encoded. Images whose header is valid but whose
/// pixel data is missing (<see cref="TestImages.PngHeaderOnly"/>) prove it without timing: had they been decoded, the
/// error would say "truncated".
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class ImageBudgetTests(TinyMagmaFixture fixture)
{
    private readonly MagmaModel _model = fixture.Model;

    private static IReadOnlyList<ChatTurn> Turns(int images) =>
        MagmaPrompts.Conversation(ChatContent.Join("\n", [.. Enumerable.Repeat(MagmaPrompts.Image(true), images), "What is this?"]));

    private static EncodedImage[] HeaderOnly(int count, int width, int height) =>
        [.. Enumerable.Range(0, count).Select(i => EncodedImage.Read(TestImages.PngHeaderOnly(width, height), sourceName: $"bomb{i}.png"))];

    [Fact]
    public void EncodedImage_reads_the_size_from_the_header_and_decodes_only_when_asked()
    {
        EncodedImage bomb = EncodedImage.Read(TestImages.PngHeaderOnly(8000, 8000), sourceName: "bomb.png");
        Assert.Equal((8000, 8000, 64_000_000L), (bomb.Width, bomb.Height, bomb.PixelCount));
        var e = Assert.Throws<MagmaInputException>(bomb.Decode);
        Assert.Contains("bomb.png", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);

        byte[] rgb = TestImages.Pattern(6, 4);
        EncodedImage fine = EncodedImage.Read(TestImages.EncodeRgb(6, 4, rgb, SKEncodedImageFormat.Png));
        Assert.Equal(rgb, fine.Decode().Pixels.ToArray());
    }

    [Fact]
    public void Over_context_request_is_refused_from_the_headers_before_decoding()
    {
        // Ten 8000x8000 images: 2x2 crops each, 1056 positions each, over the tiny model's 8192.
        var e = Assert.Throws<MagmaInputException>(() => _model.CreateRequest(Turns(10), HeaderOnly(10, 8000, 8000)));
        Assert.Contains("more than the context limit of 8192", e.Message, StringComparison.Ordinal);
        Assert.Contains("image 0 (8000x8000) takes 1056 positions", e.Message, StringComparison.Ordinal);
        Assert.Contains("6 more images take 6336", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decoded_pixel_budget_is_checked_before_decoding()
    {
        using MagmaModel small = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, MaxDecodedPixelsPerRequest = 3000 });
        Assert.Equal(3000, small.MaxDecodedPixelsPerRequest);
        var e = Assert.Throws<MagmaInputException>(() => small.CreateRequest(Turns(2), HeaderOnly(2, 40, 40)));
        Assert.Contains("3200 pixels (2 image(s))", e.Message, StringComparison.Ordinal);
        Assert.Contains("per-request budget of 3000", e.Message, StringComparison.Ordinal);
        Assert.Contains("image 0 'bomb0.png' is 40x40", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("truncated", e.Message, StringComparison.Ordinal);

        // Within the budget, the images are decoded (and this one's missing pixels are reported).
        var decodeError = Assert.Throws<MagmaInputException>(() => small.CreateRequest(Turns(1), HeaderOnly(1, 40, 40)));
        Assert.Contains("truncated", decodeError.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => TinyMagma.Load(new MagmaModelOptions { MaxDecodedPixelsPerRequest = 0 }));
    }

    [Fact]
    public async Task CreateRequest_decodes_images_that_fit_and_the_request_runs()
    {
        byte[] rgb = TestImages.Pattern(64, 48, seed: 9);
        MagmaRequest request = _model.CreateRequest(
            Turns(1), [EncodedImage.Read(TestImages.EncodeRgb(64, 48, rgb, SKEncodedImageFormat.Png))], new GenerationOptions { MaxNewTokens = 2, StopTokenIds = [] });
        Assert.Equal(rgb, request.Images[0].Pixels.ToArray());
        MagmaResponse response = await _model.GenerateAsync(request);
        Assert.Equal(2, response.Usage.CompletionTokens);
        Assert.True(response.Usage.ImageTokens > 0);
    }

    [Fact]
    public async Task Over_context_request_of_decoded_images_is_refused_before_the_vision_encoder_runs()
    {
        // A 512x512 image is 272 positions: one fits a 340-position context with the text, two do not.
        using MagmaModel small = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, MaxSequenceLength = 340 });
        RgbImage image = RgbImage.FromPixels(512, 512, TestImages.Pattern(512, 512));
        var request = new MagmaRequest { Images = [image, image], Turns = Turns(2) };
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => small.GenerateAsync(request));
        Assert.Contains("image 0 (512x512) takes 272 positions; image 1 (512x512) takes 272 positions", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, small.Engine.ImagesEncoded);

        await Assert.ThrowsAsync<MagmaInputException>(async () =>
        {
            await foreach (MagmaStreamUpdate _ in small.StreamAsync(request))
            {
            }
        });
        Assert.Equal(0, small.Engine.ImagesEncoded);

        // A batch checks every request before the first one's images are encoded.
        var fits = new MagmaRequest { Images = [image], Turns = Turns(1), Options = new GenerationOptions { MaxNewTokens = 1 } };
        var batchError = await Assert.ThrowsAsync<MagmaInputException>(() => small.GenerateBatchAsync([fits, request]));
        Assert.StartsWith("Request 1 of the batch:", batchError.Message, StringComparison.Ordinal);
        Assert.Equal(0, small.Engine.ImagesEncoded);
    }
}
