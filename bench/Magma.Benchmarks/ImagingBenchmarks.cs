using BenchmarkDotNet.Attributes;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;

namespace Magma.Benchmarks;

/// <summary>Pre-processing of a decoded 1280x720 screenshot into 4 crops, and the LIBERO frame transform.</summary>
[MemoryDiagnoser]
public class ImagingBenchmarks
{
    private readonly ImagePreprocessor _preprocessor = new(PreprocessorConfig.Default);
    private byte[] _screenshot = [];
    private float[] _pixels = [];
    private RgbImage _agentView = null!;

    [GlobalSetup]
    public void Setup()
    {
        _screenshot = BenchmarkAssets.Screenshot(1280, 720);
        _pixels = new float[_preprocessor.GetPixelCount(_preprocessor.SelectGrid(1280, 720))];
        _agentView = RgbImage.FromPixels(256, 256, BenchmarkAssets.Screenshot(256, 256));
    }

    [Benchmark(Description = "Preprocess 1280x720 -> 2x2 crops")]
    public CropGrid Preprocess1280x720() => _preprocessor.Preprocess(_screenshot, 1280, 720, _pixels);

    [Benchmark(Description = "LIBERO frame 256x256 (rotate, JPEG round-trip)")]
    public RgbImage LiberoFrameTransform() => LiberoFrame.Prepare(_agentView);
}
