using Magma.Inference.Video;

namespace Magma.Inference.Tests.Video;

public sealed class FrameSamplerTests
{
    // Expected values: numpy.linspace(0, T-1, N, dtype=int), i.e. floor(i * ((T-1)/(N-1))) in float64, last = T-1.
    [Theory]
    [InlineData(30, 8, new[] { 0, 4, 8, 12, 16, 20, 24, 29 })]
    [InlineData(7, 3, new[] { 0, 3, 6 })]
    [InlineData(1000, 7, new[] { 0, 166, 333, 499, 666, 832, 999 })]
    [InlineData(3, 2, new[] { 0, 2 })]
    [InlineData(1, 1, new[] { 0 })]
    [InlineData(50, 1, new[] { 0 })]
    public void Uniform_matches_numpy_linspace_int(int total, int count, int[] expected) =>
        Assert.Equal(expected, FrameSampler.Uniform(total, count));

    [Fact]
    public void Uniform_keeps_numpys_float_rounding_not_exact_rational_floor()
    {
        // 11 * (30/22) is 15 exactly, but 11 * 1.3636... in float64 is 14.999..., and numpy floors it to 14.
        int[] indices = FrameSampler.Uniform(31, 23);

        Assert.Equal(14, indices[11]);
        Assert.Equal(30, indices[^1]);
    }

    [Fact]
    public void More_frames_than_the_video_has_gives_each_frame_once()
    {
        Assert.Equal([0, 1, 2, 3, 4], FrameSampler.Uniform(5, 32));
    }

    [Fact]
    public void Time_range_samples_uniformly_inside_it()
    {
        var info = new VideoInfo("v", 160, 120, 30, 10, TimeSpan.FromSeconds(3));

        int[] indices = FrameSampler.Select(info, new VideoSampling { Start = TimeSpan.FromSeconds(1), End = TimeSpan.FromSeconds(2) }, 4);

        // Frames 10..19 have t in [1 s, 2 s); linspace over 10 frames, 4 samples: 0, 3, 6, 9.
        Assert.Equal([10, 13, 16, 19], indices);
    }

    [Fact]
    public void Rate_sampling_takes_the_frame_shown_at_each_tick()
    {
        var info = new VideoInfo("v", 160, 120, 30, 10, TimeSpan.FromSeconds(3));

        Assert.Equal([0, 5, 10, 15, 20, 25], FrameSampler.Select(info, new VideoSampling { FramesPerSecond = 2 }, count: 99));
        Assert.Equal([3, 6, 9], FrameSampler.Select(info, new VideoSampling { FramesPerSecond = 1 / 0.3, Start = TimeSpan.FromSeconds(0.3), End = TimeSpan.FromSeconds(1.0) }, count: 99));
    }

    [Fact]
    public void A_rate_above_the_videos_gives_every_frame_once()
    {
        var info = new VideoInfo("v", 160, 120, 30, 10, TimeSpan.FromSeconds(3));

        Assert.Equal(Enumerable.Range(0, 30), FrameSampler.Select(info, new VideoSampling { FramesPerSecond = 1e9 }, count: 1));
    }

    [Fact]
    public void An_empty_range_says_what_the_video_holds()
    {
        var info = new VideoInfo("clip.mp4", 160, 120, 30, 10, TimeSpan.FromSeconds(3));

        var e = Assert.Throws<MagmaInputException>(() => FrameSampler.Select(info, new VideoSampling { Start = TimeSpan.FromSeconds(5) }, 4));

        Assert.Contains("clip.mp4", e.Message, StringComparison.Ordinal);
        Assert.Contains("30 frames", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_sampling_names_the_field()
    {
        var info = new VideoInfo("v", 1, 1, 3, 1, TimeSpan.FromSeconds(3));

        Assert.Contains("FrameCount", Assert.Throws<MagmaInputException>(() => FrameSampler.Select(info, new VideoSampling { FrameCount = 0 }, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("FramesPerSecond", Assert.Throws<MagmaInputException>(() => FrameSampler.Select(info, new VideoSampling { FramesPerSecond = -1 }, 1)).Message, StringComparison.Ordinal);
    }
}
