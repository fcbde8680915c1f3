using Magma.Inference.Imaging;
using Magma.Inference.Video;

namespace Magma.Inference.Tests.Video;

[Collection(VideoGroup.Name)]
public sealed class VideoReaderTests(TestVideos videos)
{
    [Theory]
    [InlineData("mp4")]
    [InlineData("webm")]
    [InlineData("mkv")]
    public async Task Probe_reads_size_frame_count_rate_and_duration(string kind)
    {
        VideoInfo info = await new VideoReader().ProbeAsync(Path(kind));

        Assert.Equal((160, 120, 30), (info.Width, info.Height, info.FrameCount));
        Assert.Equal(10.0, info.FramesPerSecond, 6);
        Assert.Equal(3.0, info.Duration.TotalSeconds, 3);
    }

    [Theory]
    [InlineData("mp4")]
    [InlineData("webm")]
    [InlineData("mkv")]
    public async Task Sampled_frames_have_exact_indices_and_timestamps_and_equal_ffmpegs_own_pngs(string kind)
    {
        string[] pngs = videos.AllFramesAsPng(Path(kind));
        Assert.Equal(30, pngs.Length);

        IReadOnlyList<VideoFrame> frames = await new VideoReader().SampleAsync(Path(kind), new VideoSampling { FrameCount = 8 });
        try
        {
            Assert.Equal([0, 4, 8, 12, 16, 20, 24, 29], frames.Select(f => f.Index));
            Assert.Equal([0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.9], frames.Select(f => Math.Round(f.Timestamp!.Value.TotalSeconds, 6)));
            foreach (VideoFrame f in frames)
            {
                RgbImage png = RgbImage.Load(pngs[f.Index]);
                Assert.Equal((png.Width, png.Height), (f.Image.Width, f.Image.Height));
                Assert.True(png.Span.SequenceEqual(f.Image.Span), $"{kind} frame {f.Index} differs from ffmpeg's PNG of that frame");
            }

            // Neighbouring frames differ (testsrc moves), so equality above pins the index, not just the picture.
            Assert.False(RgbImage.Load(pngs[3]).Span.SequenceEqual(frames[1].Image.Span));
        }
        finally
        {
            foreach (VideoFrame f in frames)
            {
                f.Dispose();
            }
        }
    }

    [Fact]
    public async Task Gif_frames_come_from_the_image_decoder_and_equal_ffmpegs_pngs()
    {
        var reader = new VideoReader();
        VideoInfo info = await reader.ProbeAsync(videos.Gif);
        string[] pngs = videos.AllFramesAsPng(videos.Gif);

        IReadOnlyList<VideoFrame> frames = await reader.SampleAsync(videos.Gif, new VideoSampling { FrameCount = 4 });

        Assert.Equal((96, 64, 12), (info.Width, info.Height, info.FrameCount));
        Assert.Equal(12, pngs.Length);
        Assert.Empty(reader.StartedProcessIds);
        Assert.Equal([0, 3, 7, 11], frames.Select(f => f.Index));
        foreach (VideoFrame f in frames)
        {
            // 12 fps in GIF delays (centiseconds): 8 or 9 cs each; the timestamp is the sum of the earlier delays.
            Assert.InRange(f.Timestamp!.Value.TotalSeconds, (f.Index * 0.08) - 1e-9, (f.Index * 0.09) + 1e-9);
            Assert.True(RgbImage.Load(pngs[f.Index]).Span.SequenceEqual(f.Image.Span), $"GIF frame {f.Index} differs from ffmpeg's PNG");
            // The red square sits at x = 8 * index.
            int x = (8 * f.Index) + 4, y = 28;
            ReadOnlySpan<byte> px = f.Image.Span.Slice(((y * 96) + x) * 3, 3);
            Assert.True(px[0] > 200 && px[1] < 60 && px[2] < 60, $"frame {f.Index}: expected red at ({x},{y}), got {px[0]},{px[1]},{px[2]}");
            f.Dispose();
        }
    }

    [Fact]
    public async Task Corrupt_file_fails_clearly_and_leaves_no_process()
    {
        string bad = System.IO.Path.Combine(videos.Root, "corrupt.mp4");
        byte[] good = await File.ReadAllBytesAsync(videos.Mp4);
        byte[] garbage = new byte[good.Length];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(bad, garbage);
        var reader = new VideoReader();

        var e = await Assert.ThrowsAsync<MagmaInputException>(() => reader.SampleAsync(bad, new VideoSampling { FrameCount = 4 }));

        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
        Assert.Contains("MP4, WebM, MKV or GIF", e.Message, StringComparison.Ordinal);
        Assert.NotEmpty(reader.StartedProcessIds);
        Assert.All(reader.StartedProcessIds, pid => Assert.True(TestVideos.IsGone(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task Truncated_video_fails_naming_the_file_and_leaves_no_process()
    {
        // Header and index intact, most of the frame data gone: ffprobe passes, ffmpeg cannot deliver the late frames.
        string cut = System.IO.Path.Combine(videos.Root, "truncated.mkv");
        byte[] good = await File.ReadAllBytesAsync(videos.Mkv);
        await File.WriteAllBytesAsync(cut, good.AsSpan(0, good.Length / 3).ToArray());
        var reader = new VideoReader();
        VideoInfo info = await reader.ProbeAsync(cut);

        var e = await Assert.ThrowsAsync<MagmaInputException>(async () =>
        {
            await foreach (VideoFrame f in reader.ReadFramesAsync(cut, [0, 29]))
            {
                f.Dispose();
            }
        });

        Assert.Contains(cut, e.Message, StringComparison.Ordinal);
        Assert.True(info.FrameCount < 30 || e.Message.Contains("ffmpeg delivered", StringComparison.Ordinal), e.Message);
        Assert.All(reader.StartedProcessIds, pid => Assert.True(TestVideos.IsGone(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task Cancelling_mid_read_kills_ffmpeg()
    {
        var reader = new VideoReader();
        using var cancel = new CancellationTokenSource();
        int received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (VideoFrame f in reader.ReadFramesAsync(videos.LongClip, [.. Enumerable.Range(0, 1000)], cancel.Token))
            {
                f.Dispose();
                if (++received == 1)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.Equal(1, received);
        // ffmpeg only: the MP4's frame count comes from its moov box, not ffprobe.
        Assert.Single(reader.StartedProcessIds);
        Assert.All(reader.StartedProcessIds, pid => Assert.True(TestVideos.IsGone(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task Stopping_the_enumeration_early_kills_ffmpeg()
    {
        var reader = new VideoReader();
        await foreach (VideoFrame f in reader.ReadFramesAsync(videos.LongClip, [.. Enumerable.Range(0, 1000)]))
        {
            f.Dispose();
            break;
        }

        Assert.All(reader.StartedProcessIds, pid => Assert.True(TestVideos.IsGone(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task Missing_ffmpeg_names_what_was_tried_and_how_to_install_it()
    {
        var reader = new VideoReader(new VideoDecoderOptions { FfmpegPath = "/nonexistent/bin/ffmpeg" });

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => reader.SampleAsync(videos.Mp4));

        Assert.Contains("/nonexistent/bin/ffmpeg", e.Message, StringComparison.Ordinal);
        Assert.Contains("apt-get install -y ffmpeg", e.Message, StringComparison.Ordinal);
        Assert.Contains("VideoDecoderOptions.FfmpegPath", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_file_names_it()
    {
        string missing = System.IO.Path.Combine(videos.Root, "nope.mp4");

        var e = await Assert.ThrowsAsync<MagmaInputException>(() => new VideoReader().ProbeAsync(missing));

        Assert.Contains(missing, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_frames_buffer_is_rented_again_for_the_next_frame_of_that_size()
    {
        // A clip size no other test uses, so the shared pool's bucket is this test's alone.
        string odd = videos.Make("odd.mp4", "-f", "lavfi", "-i", "testsrc=size=138x94:rate=5:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx264");
        var reader = new VideoReader();
        IReadOnlyList<VideoFrame> first = await reader.SampleAsync(odd, new VideoSampling { FrameCount = 1 });
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(first[0].Image.Pixels, out ArraySegment<byte> a));
        first[0].Dispose();

        IReadOnlyList<VideoFrame> second = await reader.SampleAsync(odd, new VideoSampling { FrameCount = 1 });

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(second[0].Image.Pixels, out ArraySegment<byte> b));
        Assert.Same(a.Array, b.Array);
        second[0].Dispose();
    }

    [Fact]
    public async Task A_file_name_with_filter_graph_characters_decodes_like_any_other()
    {
        // The path travels inside ffmpeg's filter graph: quotes, colons, brackets, commas, semicolons, backslashes and
        // white space at the ends must all be escaped.
        string dir = System.IO.Path.Combine(videos.Root, "we ird's, [dir]; a:b\\c =x");
        Directory.CreateDirectory(dir);
        string odd = System.IO.Path.Combine(dir, " clip's [1],;.mp4 ");
        File.Copy(videos.Mp4, odd);
        var reader = new VideoReader();

        IReadOnlyList<VideoFrame> expected = await reader.SampleAsync(videos.Mp4, new VideoSampling { FrameCount = 3 });
        IReadOnlyList<VideoFrame> actual = await reader.SampleAsync(odd, new VideoSampling { FrameCount = 3 });

        Assert.Equal(expected.Select(f => (f.Index, f.Timestamp)), actual.Select(f => (f.Index, f.Timestamp)));
        Assert.All(expected.Zip(actual), pair => Assert.True(pair.First.Image.Span.SequenceEqual(pair.Second.Image.Span)));
        foreach (VideoFrame f in expected.Concat(actual))
        {
            f.Dispose();
        }
    }

    [Fact]
    public async Task Timestamps_count_from_the_start_of_a_stream_that_does_not_start_at_zero()
    {
        string late = videos.Make("late.mp4", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-output_ts_offset", "3");
        var reader = new VideoReader();
        Assert.Equal(3.0, (await reader.ProbeAsync(late)).StartSeconds, 6);

        IReadOnlyList<VideoFrame> frames = await reader.SampleAsync(late, new VideoSampling { FrameCount = 4 });

        Assert.Equal([0, 6, 12, 19], frames.Select(f => f.Index));
        Assert.Equal([0.0, 0.6, 1.2, 1.9], frames.Select(f => Math.Round(f.Timestamp!.Value.TotalSeconds, 6)));
        foreach (VideoFrame f in frames)
        {
            f.Dispose();
        }
    }

    [Fact]
    public async Task The_next_video_is_decoded_by_the_ffmpeg_started_after_the_last_one()
    {
        // A binary path of its own, so that no other test takes this spare.
        string ffmpeg = LinkToFfmpeg("ffmpeg-warm");
        var reader = new VideoReader(new VideoDecoderOptions { FfmpegPath = ffmpeg });
        int? first = WarmDecoder.SpareId(ffmpeg);
        Assert.NotNull(first); // started with the reader

        await DecodeTwoFramesAsync(reader);
        Assert.Equal(first, reader.StartedProcessIds[^1]);
        int? next = WarmDecoder.SpareId(ffmpeg);
        Assert.NotNull(next);
        Assert.NotEqual(first, next);
        Assert.False(TestVideos.IsGone(next.Value), "the spare should be waiting");

        await DecodeTwoFramesAsync(reader);
        Assert.Equal(next, reader.StartedProcessIds[^1]);
        Assert.All(reader.StartedProcessIds, pid => Assert.True(TestVideos.IsGone(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task No_ffmpeg_waits_when_keeping_one_warm_is_off()
    {
        string ffmpeg = LinkToFfmpeg("ffmpeg-cold");
        var reader = new VideoReader(new VideoDecoderOptions { FfmpegPath = ffmpeg, KeepDecoderWarm = false });

        await DecodeTwoFramesAsync(reader);
        await DecodeTwoFramesAsync(reader);

        Assert.Null(WarmDecoder.SpareId(ffmpeg));
        Assert.Equal(2, reader.StartedProcessIds.Count);
    }

    [Fact]
    public void Graph_values_are_escaped_for_the_option_then_for_the_graph()
    {
        Assert.Equal(@"/a/b.mp4", WarmDecoder.GraphValue("/a/b.mp4"));
        // Option level: ' -> \', : -> \:, space -> \ . Graph level: each \ and ' again, then [ ] , ; and the space.
        Assert.Equal(@"/x\\\'y\\:z\[1\]\,\;\\\ .mp4", WarmDecoder.GraphValue("/x'y:z[1],; .mp4"));
    }

    private async Task DecodeTwoFramesAsync(VideoReader reader)
    {
        foreach (VideoFrame f in await reader.SampleAsync(videos.Mp4, new VideoSampling { FrameCount = 2 }))
        {
            f.Dispose();
        }
    }

    private string LinkToFfmpeg(string name)
    {
        string link = System.IO.Path.Combine(videos.Root, name);
        if (!File.Exists(link))
        {
            File.CreateSymbolicLink(link, FfmpegTools.ResolveFfmpeg(VideoDecoderOptions.Default));
        }

        return link;
    }

    private string Path(string kind) => kind switch
    {
        "mp4" => videos.Mp4,
        "webm" => videos.WebM,
        _ => videos.Mkv,
    };
}
