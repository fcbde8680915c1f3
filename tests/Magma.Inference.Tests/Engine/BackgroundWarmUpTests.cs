using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// <see cref="MagmaModelOptions.WarmUpVisionInBackground"/>: vision runs wait for a background warm-up and surface its
/// failure. The warm-up itself runs only on CUDA; here <see cref="MagmaSessions.WarmVisionInBackground"/> is given
/// stand-in work on the CPU package, which is what the gate sees either way.
/// </summary>
public sealed class BackgroundWarmUpTests
{
    [Fact]
    public async Task A_vision_run_waits_until_the_background_warm_up_ends()
    {
        using MagmaModel model = TinyMagma.Load();
        MagmaSessions sessions = model.Engine.Sessions;
        using var release = new ManualResetEventSlim();
        long runsWhenWarmUpEnded = -1;
        sessions.WarmVisionInBackground(_ =>
        {
            release.Wait();
            runsWhenWarmUpEnded = sessions.VisionRuns;
        });
        int crop = model.Package.Manifest.Vision.CropSize;

        Task encode = Task.Run(() => sessions.EncodeCrops(new float[3 * crop * crop], 1));
        // Room for a run that ignores the gate to happen before the release (a slow machine only makes this test lenient).
        await Task.Delay(200);
        release.Set();
        await encode;

        Assert.Equal(0, runsWhenWarmUpEnded);
        Assert.Equal(1, sessions.VisionRuns);
    }

    [Fact]
    public void A_failed_background_warm_up_fails_the_next_vision_run_with_its_error()
    {
        using MagmaModel model = TinyMagma.Load();
        MagmaSessions sessions = model.Engine.Sessions;
        sessions.WarmVisionInBackground(_ => throw new InvalidOperationException("cuDNN set-up failed"));
        int crop = model.Package.Manifest.Vision.CropSize;

        var e = Assert.Throws<InvalidOperationException>(() => sessions.EncodeCrops(new float[3 * crop * crop], 1));

        Assert.Equal("cuDNN set-up failed", e.Message);
        Assert.Equal(0, sessions.VisionRuns);
    }

    [Fact]
    public void On_the_cpu_nothing_is_left_for_the_background()
    {
        using MagmaModel model = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, WarmUpVisionInBackground = true });

        Assert.True(model.BackgroundWarmUp.IsCompletedSuccessfully);
        Assert.DoesNotContain(model.LoadStages, s => s.Name.Contains("background", StringComparison.Ordinal));
    }
}
