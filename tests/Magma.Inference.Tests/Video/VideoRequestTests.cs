using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Tests.Engine;
using Magma.Inference.Text;
using Magma.Inference.Video;

namespace Magma.Inference.Tests.Video;

/// <summary>Video requests through the real tiny package: prompt layout, budget, crops, generation.</summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class VideoRequestTests(TinyMagmaFixture fixture, TestVideos videos) : IClassFixture<TestVideos>
{
    private const int PerFrame = 272; // one 512² crop: 16 · (16 + 1) embeddings

    private TestVideos Videos => videos;

    [Fact]
    public async Task The_prompt_has_one_image_block_per_frame_in_order_then_the_question()
    {
        MagmaModel model = fixture.Model;
        using VideoRequest video = await model.CreateRequestAsync(Videos.Mp4, "What happens?", new VideoSampling { FrameCount = 5 }, new GenerationOptions { MaxNewTokens = 4 });

        Assert.Equal([0, 7, 14, 21, 29], video.Frames.Select(f => f.Index));
        Assert.Equal(5, video.Request.Images.Count);
        for (int i = 0; i < 5; i++)
        {
            // 160x120 frames already get one crop: handed over untouched, in order.
            Assert.Same(video.Frames[i].Image, video.Request.Images[i]);
        }

        ChatContent user = video.Request.Turns[^1].Content;
        Assert.Equal(string.Concat(Enumerable.Repeat("<image_start><image><image_end>\n", 5)) + "What happens?", user.ToString());
        Assert.Equal(5, user.ImageCount);
        Assert.Equal(MagmaPrompts.SystemPrompt, video.Request.Turns[0].Content.ToString());

        int[] ids = model.Engine.Tokenize(video.Request.Turns);
        var tokens = model.Package.Manifest.Tokens;
        int[] at = [.. ids.Select((id, i) => (id, i)).Where(p => p.id == tokens.Image).Select(p => p.i)];
        Assert.Equal(5, at.Length);
        int newline = model.Tokenizer.Encode("\n", addBeginOfText: false).Single();
        int start = model.Tokenizer.TokenToId("<image_start>")!.Value, end = model.Tokenizer.TokenToId("<image_end>")!.Value;
        foreach (int i in at)
        {
            Assert.Equal((start, end, newline), (ids[i - 1], ids[i + 1], ids[i + 2]));
        }

        Assert.Equal(ids.Length - 5 + (5 * PerFrame), video.Plan.PromptPositions);
        Assert.Equal(1, video.Plan.CropsPerFrame);
    }

    [Fact]
    public async Task A_chat_over_a_video_generates_tokens_and_counts_every_frames_embeddings()
    {
        using VideoRequest video = await fixture.Model.CreateRequestAsync(Videos.WebM, "Describe the video.", new VideoSampling { FrameCount = 3 }, new GenerationOptions { MaxNewTokens = 6 });

        MagmaResponse response = await fixture.Model.GenerateAsync(video.Request);

        Assert.Equal(6, response.Usage.CompletionTokens);
        Assert.Equal(3 * PerFrame, response.Usage.ImageTokens);
        Assert.Equal(video.Plan.PromptPositions, response.Usage.PromptTokens);
    }

    [Fact]
    public async Task Automatic_count_takes_as_many_frames_as_fit_and_an_explicit_count_that_does_not_fit_says_how_many_would()
    {
        MagmaModel model = fixture.Model;
        // 30 frames, default sampling (up to 32), but only ~1000 positions left for the prompt.
        var options = new GenerationOptions { MaxNewTokens = model.ContextLength - 1000 };

        using VideoRequest auto = await model.CreateRequestAsync(Videos.Mp4, "What happens?", options: options);
        int fit = auto.Plan.FramesPerVideo;

        Assert.InRange(fit, 1, 3);
        Assert.True(auto.Plan.PromptPositions + options.MaxNewTokens <= model.ContextLength);
        Assert.Equal(FrameSampler.Uniform(30, fit), auto.Frames.Select(f => f.Index));

        var e = await Assert.ThrowsAsync<MagmaInputException>(() => model.CreateRequestAsync(Videos.Mp4, "What happens?", new VideoSampling { FrameCount = fit + 1 }, options));
        Assert.Contains($"{fit} frames per video would fit", e.Message, StringComparison.Ordinal);
        Assert.Contains(Videos.Mp4, e.Message, StringComparison.Ordinal);
        Assert.Contains($"context length of {model.ContextLength}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Default_sampling_of_a_long_video_fits_magmas_8192_context_below_32_frames()
    {
        MagmaModel model = fixture.Model;
        Assert.Equal(8192, model.ContextLength);

        using VideoRequest video = await model.CreateRequestAsync(Videos.LongClip, "What happens?");

        // 32 frames would need 32 · 275 positions; with 512 reserved for the answer, 27 fit.
        int n = video.Plan.FramesPerVideo;
        Assert.InRange(n, 20, 31);
        Assert.True(video.Plan.PromptPositions + 512 <= 8192);
        var next = await Assert.ThrowsAsync<MagmaInputException>(() => model.CreateRequestAsync(Videos.LongClip, "What happens?", new VideoSampling { FrameCount = n + 1 }));
        Assert.Contains($"{n} frames per video would fit", next.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rate_sampling_shows_the_frame_at_each_tick_and_an_over_budget_rate_says_how_many_fit()
    {
        MagmaModel model = fixture.Model;
        using VideoRequest twice = await model.CreateRequestAsync(Videos.Mp4, "q", new VideoSampling { FramesPerSecond = 2 }, new GenerationOptions { MaxNewTokens = 4 });

        Assert.Equal([0, 5, 10, 15, 20, 25], twice.Frames.Select(f => f.Index));
        Assert.Equal([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], twice.Frames.Select(f => Math.Round(f.Timestamp!.Value.TotalSeconds, 6)));
        Assert.Equal(6, twice.Request.Images.Count);

        // 40 s at 1 frame per second: 40 frames, more than 8192 positions hold.
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => model.CreateRequestAsync(Videos.LongClip, "q", new VideoSampling { FramesPerSecond = 1 }));
        using VideoRequest auto = await model.CreateRequestAsync(Videos.LongClip, "q");
        Assert.Contains($"40 frames per video", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{auto.Plan.FramesPerVideo} frames per video would fit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crops_per_frame_drop_before_frames_do()
    {
        MagmaModel model = fixture.Model;
        RgbImage[] frames = [.. Enumerable.Range(0, 4).Select(i => Noise(1280, 720, i))];
        var two = new VideoSampling { FrameCount = 2, MaxCropsPerFrame = 4 };

        using VideoRequest roomy = await model.CreateRequestAsync(frames, "q", 2, two, new GenerationOptions { MaxNewTokens = 16 });
        // 1280x720 under 4 crops is a 2x2 grid (1056 embeddings): the engine's own grid, so frames pass untouched.
        Assert.Equal(4, roomy.Plan.CropsPerFrame);
        Assert.Same(frames[0], roomy.Request.Images[0]);

        // Room for 2 x 528 (1x2 grid at 2 crops) but not 2 x 1056.
        using VideoRequest tight = await model.CreateRequestAsync(frames, "q", 2, two, new GenerationOptions { MaxNewTokens = model.ContextLength - 1500 });
        Assert.Equal(2, tight.Plan.CropsPerFrame);
        Assert.Equal(2, tight.Plan.FramesPerVideo);
        Assert.Equal((512, 1024), (tight.Request.Images[0].Height, tight.Request.Images[0].Width));
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(1.5)], tight.Frames.Select(f => f.Timestamp!.Value));

        MagmaResponse r = await model.GenerateAsync(new MagmaRequest { Images = tight.Request.Images, Turns = tight.Request.Turns, Options = new GenerationOptions { MaxNewTokens = 2 } });
        Assert.Equal(2 * 528, r.Usage.ImageTokens);
    }

    [Fact]
    public void A_frame_limited_to_one_crop_is_within_half_a_grey_level_of_the_reference_processor_at_num_crops_1()
    {
        ImagePreprocessor package = fixture.Model.Engine.Preprocessor;
        PreprocessorConfig c = package.Config;
        var oneCrop = new ImagePreprocessor(new PreprocessorConfig { BaseImageSize = c.BaseImageSize, NumCrops = 1, ImageMean = c.ImageMean, ImageStd = c.ImageStd });
        RgbImage frame = Noise(1280, 720, 9);

        RgbImage shaped = new FrameShaper(package, 1).Shape(frame, out byte[]? pooled);
        float[] expected = new float[oneCrop.GetPixelCount(new CropGrid(1, 1))];
        float[] actual = new float[expected.Length];
        oneCrop.Preprocess(frame, expected);
        CropGrid grid = package.Preprocess(shaped, actual);

        Assert.NotNull(pooled);
        Assert.Equal(new CropGrid(1, 1), grid);
        double maxStdLevels = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float std = c.ImageStd[i / (512 * 512)];
            maxStdLevels = Math.Max(maxStdLevels, Math.Abs(expected[i] - actual[i]) * std * 255);
        }

        Assert.InRange(maxStdLevels, 0, 0.5 + 1e-3);
    }

    private static RgbImage Noise(int w, int h, int seed)
    {
        byte[] rgb = new byte[w * h * 3];
        new Random(seed).NextBytes(rgb);
        return RgbImage.FromPixels(w, h, rgb);
    }
}
