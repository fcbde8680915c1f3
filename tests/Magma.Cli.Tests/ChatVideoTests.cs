using System.Diagnostics;
using System.Text.Json;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Video;

namespace Magma.Cli.Tests;

/// <summary><c>magma chat --video</c> on the tiny package with clips made by ffmpeg.</summary>
public sealed class ChatVideoTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "magma-cli-video-" + Guid.NewGuid().ToString("N"));

    public ChatVideoTests()
    {
        Directory.CreateDirectory(_dir);
        Clip = Path.Combine(_dir, "clip.mp4");
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (string a in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=3", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-y", Clip])
        {
            info.ArgumentList.Add(a);
        }

        using Process p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    private string Clip { get; }

    [Fact]
    public async Task Json_lists_the_sampled_frames_and_counts_their_image_tokens()
    {
        CliRun run = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--video", Clip, "--frames", "3", "--max-tokens", "4", "--json", "What happens?");

        Assert.Equal(0, run.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(run.Out);
        JsonElement root = doc.RootElement;
        Assert.Equal(3 * 272, root.GetProperty("usage").GetProperty("image_tokens").GetInt32());
        Assert.Equal(4, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        JsonElement[] frames = [.. root.GetProperty("video_frames").EnumerateArray()];
        Assert.Equal([0, 14, 29], frames.Select(f => f.GetProperty("index").GetInt32()));
        Assert.Equal([0.0, 1.4, 2.9], frames.Select(f => Math.Round(f.GetProperty("time_seconds").GetDouble(), 6)));
    }

    [Fact]
    public async Task Streamed_answer_equals_the_engines_video_request()
    {
        CliRun run = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--video", Clip, "--frames", "2", "--max-tokens", "8", "What happens?");

        using MagmaModel model = MagmaModel.Load(Cli.TinyModel);
        using VideoRequest video = await model.CreateRequestAsync(Clip, "What happens?", new VideoSampling { FrameCount = 2 }, new GenerationOptions { MaxNewTokens = 8 });
        MagmaResponse expected = await model.GenerateAsync(video.Request);
        Assert.Equal(0, run.ExitCode);
        Assert.NotEqual("", expected.Text);
        Assert.Equal(expected.Text + Environment.NewLine, run.Out);
    }

    [Fact]
    public async Task Too_many_frames_exit_1_saying_how_many_fit()
    {
        CliRun run = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--video", Clip, "--frames", "30", "What happens?");

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("frames per video would fit", run.Err, StringComparison.Ordinal);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // one line, no stack trace
    }

    [Fact]
    public async Task Missing_or_corrupt_video_exits_1_naming_the_file()
    {
        string missing = Path.Combine(_dir, "nope.mp4");
        string corrupt = Path.Combine(_dir, "corrupt.mp4");
        await File.WriteAllTextAsync(corrupt, "not a video");

        CliRun a = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--video", missing, "q");
        CliRun b = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--video", corrupt, "q");

        Assert.Equal((1, 1), (a.ExitCode, b.ExitCode));
        Assert.Contains(missing, a.Err, StringComparison.Ordinal);
        Assert.Contains(corrupt, b.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zero_frames_is_a_usage_error()
    {
        CliRun run = await Cli.RunAsync("chat", "-m", Cli.TinyModel, "--video", Clip, "--frames", "0", "q");

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--frames", run.Err, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
