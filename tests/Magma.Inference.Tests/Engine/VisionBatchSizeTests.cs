namespace Magma.Inference.Tests.Engine;

/// <summary>
/// Vision runs in fixed crop counts (<see cref="MagmaModelOptions.VisionBatchSizes"/>): one shape on CUDA (one crop per run,
/// or num_crops with <see cref="MagmaModelOptions.VisionRunsAllCrops"/>), warmed up alone; same features whatever the cut.
/// </summary>
public sealed class VisionBatchSizeTests
{
    [Fact]
    public void Cuda_runs_one_crop_per_run_by_default_the_cpu_any_count_and_one_is_always_allowed()
    {
        var cuda = new MagmaModelOptions { Device = MagmaDevice.Cuda };
        Assert.Equal([1], cuda.ResolveVisionBatchSizes(4)!);
        Assert.Equal([1], cuda.ResolveWarmUpCrops(4));
        Assert.Null(new MagmaModelOptions().ResolveVisionBatchSizes(4));
        Assert.Equal([1, 2, 3, 4], new MagmaModelOptions().ResolveWarmUpCrops(4));
        Assert.Equal([3, 2, 1], new MagmaModelOptions { VisionBatchSizes = [2, 3, 2] }.ResolveVisionBatchSizes(4)!);
        Assert.Equal([3], new MagmaModelOptions { VisionBatchSizes = [2, 3, 2] }.ResolveWarmUpCrops(4));
        Assert.Equal([2, 1], new MagmaModelOptions { Device = MagmaDevice.Cuda, WarmUpCrops = [2, 1] }.ResolveWarmUpCrops(4));
    }

    [Fact]
    public void Cuda_with_all_crops_runs_num_crops_or_one_and_warms_up_num_crops_only()
    {
        // Only the last shape's cuDNN set-up survives another shape's run, so a second warmed shape would be lost.
        var allCrops = new MagmaModelOptions { Device = MagmaDevice.Cuda, VisionRunsAllCrops = true };
        Assert.Equal([4, 1], allCrops.ResolveVisionBatchSizes(4)!);
        Assert.Equal([4], allCrops.ResolveWarmUpCrops(4));
        Assert.Equal([1], allCrops.ResolveVisionBatchSizes(1)!);
        Assert.Null(new MagmaModelOptions { VisionRunsAllCrops = true }.ResolveVisionBatchSizes(4));
    }

    [Fact]
    public void The_cuda_default_cuts_a_batch_into_one_crop_runs_with_the_features_of_one_run()
    {
        // The CUDA default's cut ({1}) on the CPU provider: the run count shows the cut, the features that it changes nothing.
        using MagmaModel together = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1 });
        using MagmaModel ones = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, VisionBatchSizes = new MagmaModelOptions { Device = MagmaDevice.Cuda }.ResolveVisionBatchSizes(4) });
        var v = together.Package.Manifest.Vision;
        float[] pixels = RandomCrops(4, v.CropSize, seed: 3);

        (byte[] a, byte[] sepA) = together.Engine.Sessions.EncodeCrops(pixels, 4);
        (byte[] b, byte[] sepB) = ones.Engine.Sessions.EncodeCrops(pixels, 4);

        Assert.Equal(1, together.Engine.Sessions.VisionRuns);
        Assert.Equal(4, ones.Engine.Sessions.VisionRuns);
        Assert.Equal(sepA, sepB);
        AssertSameFeatures(a, b);
    }

    [Fact]
    public void Crops_encoded_in_fours_and_ones_equal_crops_encoded_together()
    {
        using MagmaModel together = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1 });
        using MagmaModel split = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, VisionBatchSizes = [2, 1] });
        var v = together.Package.Manifest.Vision;
        float[] pixels = RandomCrops(3, v.CropSize, seed: 5);

        (byte[] a, byte[] sepA) = together.Engine.Sessions.EncodeCrops(pixels, 3);
        (byte[] b, byte[] sepB) = split.Engine.Sessions.EncodeCrops(pixels, 3); // 2 + 1

        Assert.Equal(sepA, sepB);
        AssertSameFeatures(a, b);
    }

    [Fact]
    public void Vision_runs_through_bound_buffers_give_the_features_of_plain_runs()
    {
        // VisionCudaGraphs: on CUDA these runs are captured and replayed; on the CPU the same bound buffers, uncaptured.
        // The first run is plain and gives the row separator, which the bound (captured) runs do not write.
        using MagmaModel plain = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, VisionBatchSizes = [2, 1] });
        using MagmaModel bound = TinyMagma.Load(new MagmaModelOptions { IntraOpThreads = 1, VisionBatchSizes = [2, 1], VisionCudaGraphs = true });
        var v = plain.Package.Manifest.Vision;
        float[] pixels = RandomCrops(5, v.CropSize, seed: 7);

        (byte[] a, byte[] sepA) = plain.Engine.Sessions.EncodeCrops(pixels, 5);
        for (int run = 0; run < 3; run++)
        {
            (byte[] b, byte[] sepB) = bound.Engine.Sessions.EncodeCrops(pixels, 5); // 2 + 2 + 1, through the buffers of 2 and of 1
            Assert.Equal(sepA, sepB);
            Assert.Equal(a, b);
        }

        Assert.Equal(9, bound.Engine.Sessions.VisionRuns);
        Assert.Equal(8, bound.Engine.Sessions.BoundVisionRuns);
        Assert.Equal(0, plain.Engine.Sessions.BoundVisionRuns);
    }

    /// <summary>Normalised-range pixels for <paramref name="crops"/> crops, from a fixed seed.</summary>
    /// <summary>Float32 feature bytes <paramref name="b"/> equal <paramref name="a"/> within 1e-5 relative, and were written at all.</summary>
    private static void AssertSameFeatures(byte[] a, byte[] b)
    {
        float[] fa = new float[a.Length / 4], fb = new float[b.Length / 4];
        Buffer.BlockCopy(a, 0, fa, 0, a.Length);
        Buffer.BlockCopy(b, 0, fb, 0, b.Length);
        Assert.True(fa.Any(x => x != 0), "the features were written");
        Assert.True(TinyMagma.RelativeError(fb, fa) < 1e-5, $"relative error {TinyMagma.RelativeError(fb, fa)}");
    }

    private static float[] RandomCrops(int crops, int cropSize, int seed)
    {
        var rng = new Random(seed);
        float[] pixels = new float[crops * 3 * cropSize * cropSize];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)((rng.NextDouble() * 4) - 2);
        }

        return pixels;
    }
}
