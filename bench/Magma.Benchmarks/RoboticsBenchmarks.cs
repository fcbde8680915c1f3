using BenchmarkDotNet.Attributes;
using Magma.Inference.Decoding;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Python;
using Python.Runtime;

namespace Magma.Benchmarks;

/// <summary>
/// What the robotics plugin adds per LIBERO step beyond the simulator and the model: marshalling a step to the
/// environment's thread and back, copying the frame out of numpy, the reference frame transform and the action
/// decode. Runs against the fake LIBERO of tests/Magma.Plugins.Robotics.Tests (its numpy render stands in for MuJoCo);
/// <see cref="SimulatorStepInPython"/> measures that render + step alone, inside Python, on the env thread.
/// </summary>
[MemoryDiagnoser]
public class RoboticsBenchmarks
{
    private const int PythonLoop = 200;
    private PythonHost _host = null!;
    private LiberoEnvironment _env = null!;
    private PyObject _frame = null!;
    private PyModule _loop = null!;
    private RgbImage _rawFrame = null!;
    private RgbImage _rotatedFrame = null!;
    private byte[] _jpeg = null!;
    private RobotActionDecoder _decoder = null!;
    private readonly byte[] _buffer = new byte[256 * 256 * 3];
    private readonly int[] _ids = [127800, 127850, 127872, 127900, 127700 + 100, 127950, 127990, 128009];

    [GlobalSetup]
    public void Setup()
    {
        _host = PythonHost.Start(new PythonHostOptions { SysPaths = [FindFakeLibero()] });
        _env = LiberoEnvironment.CreateAsync(_host, "libero_goal", 0, new LiberoEnvironmentOptions { ReadWristView = false }).GetAwaiter().GetResult();
        _rawFrame = _env.ResetAsync(4).GetAwaiter().GetResult().AgentView;
        _host.Invoke("setup", () =>
        {
            _loop = PyModule.FromString("_bench_loop", """
                import time
                import numpy as np
                frame = (np.arange(256 * 256 * 3) % 251).astype(np.uint8).reshape(-1), 256, 256

                def steps(env, n):
                    a = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
                    t = time.perf_counter()
                    for _ in range(n):
                        env.step(a)
                    return time.perf_counter() - t
                """);
            _frame = _loop.GetAttr("frame");
            return 0;
        });
        _rotatedFrame = LiberoFrame.Rotate180(_rawFrame);
        _jpeg = _rotatedFrame.EncodeJpeg(LiberoFrame.JpegQuality);
        _decoder = RobotActionDecoder.ForLibero(new ActionStatistics(
            [-0.9, -0.9, -0.9, -0.3, -0.3, -0.3, 0], [0.9, 0.9, 0.9, 0.3, 0.3, 0.3, 1], [true, true, true, true, true, true, false]));
    }

    // BenchmarkDotNet runs from a generated folder; walk up to the repository's copy of the test package.
    private static string FindFakeLibero()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            string candidate = Path.Combine(dir, "tests", "Magma.Plugins.Robotics.Tests", "fake_libero");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/Magma.Plugins.Robotics.Tests/fake_libero not found above " + AppContext.BaseDirectory);
    }

    [GlobalCleanup]
    public void Cleanup() => _env.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One 256×256×3 frame from numpy into a new RgbImage (GIL taken and released included).</summary>
    [Benchmark]
    public RgbImage FrameTransfer256() => _host.Invoke("frame", () => NumpyReader.ReadImage(_frame, "agentview_image"));

    /// <summary>The copy alone: the same frame into a reused buffer (no new 196 KB array, so no large-object-heap GC).</summary>
    [Benchmark]
    public byte[] FrameTransfer256IntoBuffer() => _host.Invoke("frame", () =>
    {
        using PyObject flat = _frame[0];
        NumpyReader.ReadBytes(flat, _buffer, "agentview_image");
        return _buffer;
    });

    /// <summary>A whole env.step from .NET: hop to the env thread, GIL, action list, Python step + render, frame and state copy, hop back.</summary>
    [Benchmark]
    public LiberoStep StepThroughPlugin() => _env.StepAsync(LiberoActionSpace.DummyAction).GetAwaiter().GetResult();

    /// <summary>The same env.step called in a Python loop on the env thread: the simulator's own share.</summary>
    [Benchmark(OperationsPerInvoke = PythonLoop)]
    public double SimulatorStepInPython() => _env.RunOnThread(() => _host.Invoke("loop", () =>
    {
        using var n = new PyInt(PythonLoop);
        using PyObject seconds = _loop.InvokeMethod("steps", _env.PythonEnv!, n);
        return seconds.As<double>();
    })).GetAwaiter().GetResult();

    /// <summary>The reference frame transform (180° rotation, JPEG round-trip) of one frame.</summary>
    [Benchmark]
    public RgbImage FrameTransform() => LiberoFrame.Prepare(_rawFrame);

    /// <summary>Stage of <see cref="FrameTransform"/>: the 180° rotation alone.</summary>
    [Benchmark]
    public RgbImage TransformRotate() => LiberoFrame.Rotate180(_rawFrame);

    /// <summary>Stage of <see cref="FrameTransform"/>: RGB→RGBA into a Skia bitmap (what the encoder is fed).</summary>
    [Benchmark]
    public int TransformToRgba()
    {
        using SkiaSharp.SKBitmap bitmap = _rotatedFrame.ToBitmap();
        return bitmap.RowBytes;
    }

    /// <summary>Stage of <see cref="FrameTransform"/>: RGB→RGBA + JPEG encode at quality 95.</summary>
    [Benchmark]
    public byte[] TransformEncode() => _rotatedFrame.EncodeJpeg(LiberoFrame.JpegQuality);

    /// <summary>Stage of <see cref="FrameTransform"/>: JPEG decode + RGBA→RGB.</summary>
    [Benchmark]
    public RgbImage TransformDecode() => RgbImage.Decode(_jpeg, sourceName: "bench");

    /// <summary>Decoding 7 action tokens + EOS into a LIBERO command.</summary>
    [Benchmark]
    public DecodeResult<RobotAction> ActionDecode() => _decoder.Decode(_ids);
}
