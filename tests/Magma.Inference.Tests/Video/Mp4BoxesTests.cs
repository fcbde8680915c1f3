using Magma.Inference.Video;

namespace Magma.Inference.Tests.Video;

[Collection(VideoGroup.Name)]
public sealed class Mp4BoxesTests(TestVideos videos)
{
    private const string Lavfi = "-f";

    public static TheoryData<string, string[]> ReadInCSharp => new()
    {
        { "bframes30.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bf", "3"] },
        { "bframes25.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "ntsc.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=30000/1001:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "clip.mov", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "odd.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=138x94:rate=5:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "noreorder.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bf", "0"] },
        { "mpeg4.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-c:v", "mpeg4", "-q:v", "3"] },
        { "faststart.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=24:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "+faststart"] },
        // The benchmark's clip (VideoBenchmarks), and a longer one: over 100 frames, where ffmpeg's stts rules differ.
        { "bench720p.mp4", [Lavfi, "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "long150.mp4", [Lavfi, "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=5", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "hevc.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx265", "-x265-params", "log-level=error"] },
        { "hvc1.mov", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx265", "-tag:v", "hvc1", "-x265-params", "log-level=error"] },
        { "vp9.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libvpx-vp9"] },
        { "av1.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libaom-av1", "-cpu-used", "8"] },
        { "withaudio.mp4", [Lavfi, "lavfi", "-i", "sine=frequency=440:duration=2", Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac"] },
    };

    public static TheoryData<string, string[]> LeftToFfprobe => new()
    {
        { "fragmented.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "frag_keyframe+empty_moov"] },
        // Timestamps 0.1 s apart, then 0.2 s: several stts entries.
        { "vfr.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-vf", "setpts='if(lt(N,10),N*0.1,N*0.2)/TB'", "-fps_mode", "vfr", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        // B-frames written without ffmpeg's edit list: presentation starts after zero.
        { "noeditlist.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-use_editlist", "0"] },
        // Square pixels stored, shown 2:1 wide: tkhd's width is the shown one, so the sizes disagree.
        { "anamorphic.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-vf", "setsar=2", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
        { "twovideo.mp4", [Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", Lavfi, "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-map", "0", "-map", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264"] },
    };

    [Theory]
    [MemberData(nameof(ReadInCSharp))]
    public async Task Box_reader_gives_exactly_the_ffprobe_paths_info_and_the_same_frames(string name, string[] args)
    {
        string path = videos.Make(name, args);
        var reader = new VideoReader();

        VideoInfo? boxes = Mp4Boxes.TryRead(path);
        VideoInfo probed = await new VideoReader().ProbeWithFfprobeAsync(path, CancellationToken.None);

        Assert.NotNull(boxes);
        Assert.Equal(probed, boxes); // Record equality: source, size, frame count, rate, duration (bit for bit).
        Assert.Equal(probed.StartSeconds, boxes.StartSeconds);
        Assert.Equal(probed.IsGif, boxes.IsGif);
        await AssertSameFramesAsync(reader, path, boxes, probed);
        Assert.Single(reader.StartedProcessIds); // SampleAsync ran ffmpeg and no ffprobe.
    }

    [Theory]
    [MemberData(nameof(LeftToFfprobe))]
    public async Task Unusual_files_are_left_to_ffprobe_and_still_work(string name, string[] args)
    {
        string path = videos.Make(name, args);
        var reader = new VideoReader();

        Assert.Null(Mp4Boxes.TryRead(path));
        VideoInfo info = await reader.ProbeAsync(path);

        Assert.Equal(await reader.ProbeWithFfprobeAsync(path, CancellationToken.None), info);
        Assert.NotEmpty(reader.StartedProcessIds);
        IReadOnlyList<VideoFrame> frames = await reader.SampleAsync(path, new VideoSampling { FrameCount = 4 });
        Assert.Equal(FrameSampler.Uniform(info.FrameCount, 4), frames.Select(f => f.Index));
        Assert.All(frames, f => Assert.NotNull(f.Timestamp));
        foreach (VideoFrame f in frames)
        {
            f.Dispose();
        }
    }

    [Fact]
    public async Task An_edit_list_that_skips_frames_is_left_to_ffprobe()
    {
        // Stream copy from 0.5 s: the edit list starts past the first stored frames (ffprobe: 30 frames, 2.5 s).
        string path = videos.Make("skipped.mp4", "-ss", "0.5", "-i", videos.Mp4, "-c", "copy");
        var reader = new VideoReader();

        Assert.Null(Mp4Boxes.TryRead(path));
        VideoInfo info = await reader.ProbeAsync(path);

        Assert.Equal(await new VideoReader().ProbeWithFfprobeAsync(path, CancellationToken.None), info);
        Assert.NotEmpty(reader.StartedProcessIds);
    }

    [Fact]
    public async Task The_shared_test_clip_is_read_without_ffprobe_and_with_the_same_timestamps()
    {
        var reader = new VideoReader();

        VideoInfo info = await reader.ProbeAsync(videos.Mp4);

        Assert.Empty(reader.StartedProcessIds);
        Assert.Equal(await new VideoReader().ProbeWithFfprobeAsync(videos.Mp4, CancellationToken.None), info);
    }

    [Fact]
    public async Task A_truncated_mp4_whose_index_is_at_the_end_fails_clearly()
    {
        // libx264 without faststart writes moov last: cutting the file loses it, so the box reader leaves it to ffprobe.
        string cut = Path.Combine(videos.Root, "cut-moov.mp4");
        byte[] good = await File.ReadAllBytesAsync(videos.Mp4);
        await File.WriteAllBytesAsync(cut, good.AsSpan(0, good.Length / 2).ToArray());
        var reader = new VideoReader();

        Assert.Null(Mp4Boxes.TryRead(cut));
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => reader.ProbeAsync(cut));

        Assert.Contains(cut, e.Message, StringComparison.Ordinal);
        Assert.Contains("MP4, WebM, MKV or GIF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_faststart_mp4_cut_after_its_index_probes_like_ffprobe_and_fails_at_decoding()
    {
        string whole = videos.Make("faststart-cut-src.mp4", Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "+faststart");
        string cut = Path.Combine(videos.Root, "faststart-cut.mp4");
        byte[] good = await File.ReadAllBytesAsync(whole);
        await File.WriteAllBytesAsync(cut, good.AsSpan(0, good.Length / 3).ToArray());
        var reader = new VideoReader();

        // The mdat box now overruns the file: treated as damage and left to ffprobe, which reads the intact index.
        Assert.Null(Mp4Boxes.TryRead(cut));
        VideoInfo info = await reader.ProbeAsync(cut);
        var e = await Assert.ThrowsAsync<MagmaInputException>(async () =>
        {
            await foreach (VideoFrame f in reader.ReadFramesAsync(info, cut, [0, info.FrameCount - 1], CancellationToken.None))
            {
                f.Dispose();
            }
        });

        Assert.Contains(cut, e.Message, StringComparison.Ordinal);
        Assert.All(reader.StartedProcessIds, pid => Assert.True(TestVideos.IsGone(pid), $"process {pid} is still running"));
    }

    [Fact]
    public async Task A_corrupted_moov_is_left_to_ffprobe_and_fails_clearly()
    {
        string whole = videos.Make("corrupt-moov-src.mp4", Lavfi, "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "+faststart");
        byte[] bytes = await File.ReadAllBytesAsync(whole);
        int moov = bytes.AsSpan().IndexOf("moov"u8);
        Assert.True(moov > 0);
        // Overwrite everything inside moov after its header with 0xFF: every child box claims 4 GB.
        bytes.AsSpan(moov + 4, 200).Fill(0xFF);
        string bad = Path.Combine(videos.Root, "corrupt-moov.mp4");
        await File.WriteAllBytesAsync(bad, bytes);

        Assert.Null(Mp4Boxes.TryRead(bad));
        var e = await Assert.ThrowsAsync<MagmaInputException>(() => new VideoReader().SampleAsync(bad, new VideoSampling { FrameCount = 2 }));

        Assert.Contains(bad, e.Message, StringComparison.Ordinal);
    }

    private static async Task AssertSameFramesAsync(VideoReader reader, string path, VideoInfo boxes, VideoInfo probed)
    {
        int[] indices = FrameSampler.Uniform(boxes.FrameCount, Math.Min(8, boxes.FrameCount));
        IReadOnlyList<VideoFrame> a = await reader.SampleAsync(path, new VideoSampling { FrameCount = indices.Length });
        IReadOnlyList<VideoFrame> b = await new VideoReader().ReadAllAsync(probed, path, indices, CancellationToken.None);
        try
        {
            Assert.Equal(indices, a.Select(f => f.Index));
            Assert.Equal(b.Select(f => f.Index), a.Select(f => f.Index));
            Assert.Equal(b.Select(f => f.Timestamp), a.Select(f => f.Timestamp));
            for (int k = 0; k < a.Count; k++)
            {
                Assert.True(b[k].Image.Span.SequenceEqual(a[k].Image.Span), $"{path} frame {a[k].Index} differs");
                // Constant rate, start 0: showinfo's pts (printed to ~6 significant digits) is index / fps.
                Assert.Equal(indices[k] / probed.FramesPerSecond, a[k].Timestamp!.Value.TotalSeconds, 4);
            }
        }
        finally
        {
            foreach (VideoFrame f in a.Concat(b))
            {
                f.Dispose();
            }
        }
    }
}
