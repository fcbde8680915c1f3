using BenchmarkDotNet.Attributes;
using Magma.Inference.Imaging;
using Magma.Plugins.Robotics.Libero;
using Magma.Plugins.Robotics.Python;
using Magma.Tasks.Decoding;
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
    private readonly FrameBufferPool _pool = new();
    private readonly byte[] _prepared = new byte[256 * 256 * 3];
    private RobotActionDecoder _decoder = null!;
    private readonly byte[] _buffer = new byte[256 * 256 * 3];
    private readonly int[] _ids = [127800, 127850, 127872, 127900, 127700 + 100, 127950, 127990, 128009];

    /// <summary>
    /// False: the fake's agent view is a strided [::-1, ::-1] view, which the bridge copies. True: a contiguous frame, as
    /// real LIBERO returns it (robosuite 1.4, "opengl" convention: <c>img[::1]</c> of the render), the fake paying for the
    /// contiguous render itself, as the simulator does.
    /// </summary>
    [Params(false, true)]
    public bool ContiguousAgentView { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _host = PythonHost.Start(new PythonHostOptions { SysPaths = [FindFakeLibero()] });
        _host.Invoke("layout", () =>
        {
            using PyObject envs = Py.Import("libero.libero.envs");
            using PyObject flag = ContiguousAgentView.ToPython();
            envs.SetAttr("AGENT_VIEW_CONTIGUOUS", flag);
            return 0;
        });
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

    /// <summary>
    /// One 256×256×3 frame from numpy into an RgbImage, as an observation reads it: over an array from the
    /// environment's frame pool, handed back when the observation is disposed (GIL taken and released included).
    /// </summary>
    [Benchmark]
    public int FrameTransfer256() => _host.Invoke("frame", () =>
    {
        RgbImage image = NumpyReader.ReadImage(_frame, "agentview_image", _pool);
        _pool.Return(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(image.Pixels, out ArraySegment<byte> a) ? a.Array : null);
        return image.Width;
    });

    /// <summary>The same into a new array per frame (what an observation did before the frame pool).</summary>
    [Benchmark]
    public RgbImage FrameTransfer256NewArray() => _host.Invoke("frame", () => NumpyReader.ReadImage(_frame, "agentview_image"));

    /// <summary>The copy alone: the same frame into a reused buffer (no new 196 KB array, so no large-object-heap GC).</summary>
    [Benchmark]
    public byte[] FrameTransfer256IntoBuffer() => _host.Invoke("frame", () =>
    {
        using PyObject flat = _frame[0];
        NumpyReader.ReadBytes(flat, _buffer, "agentview_image");
        return _buffer;
    });

    /// <summary>
    /// A whole env.step from .NET: hop to the env thread, GIL, action list, Python step + render, frame and state
    /// copy, hop back; the observation is then disposed as the episode loop does (its frame buffer is reused).
    /// </summary>
    [Benchmark]
    public bool StepThroughPlugin()
    {
        LiberoStep step = _env.StepAsync(LiberoActionSpace.DummyAction).GetAwaiter().GetResult();
        step.Observation.Dispose();
        return step.Done;
    }

    /// <summary>
    /// The whole per-step path except the model: <c>env.step</c> through the plugin, the reference transform of the
    /// new frame (what the policy reads as <see cref="LiberoObservation.ModelFrame"/>) and the action decode, the
    /// observation disposed as the episode loop does. Minus <see cref="SimulatorStepInPython"/>, this is the plugin's
    /// per-step overhead.
    /// </summary>
    [Benchmark]
    public int StepTransformDecodeThroughPlugin()
    {
        LiberoStep step = _env.StepAsync(LiberoActionSpace.DummyAction).GetAwaiter().GetResult();
        int width = step.Observation.ModelFrame.Width;
        step.Observation.Dispose();
        return width + (_decoder.Decode(_ids).Value is null ? 0 : 1);
    }

    /// <summary>The round trip to the environment's thread and back alone (no Python): the hop's share of a step.</summary>
    [Benchmark]
    public int HopToEnvironmentThread() => _env.RunOnThread(() => 1).GetAwaiter().GetResult();

    /// <summary>
    /// <c>env.step</c> through the plugin's marshalling (GIL, action list, bridge, frame + state copy, observation)
    /// but called on the environment's thread in a loop: the step without the hop.
    /// </summary>
    [Benchmark(OperationsPerInvoke = PythonLoop)]
    public int StepMarshallingOnEnvironmentThread() => _env.RunOnThread(() =>
    {
        int n = 0;
        for (int i = 0; i < PythonLoop; i++)
        {
            LiberoStep step = _env.StepOnOwnThread([0, 0, 0, 0, 0, 0, -1]);
            n += step.Done ? 1 : 0;
            step.Observation.Dispose();
        }

        return n;
    }).GetAwaiter().GetResult();

    /// <summary>The same env.step called in a Python loop on the env thread: the simulator's own share.</summary>
    [Benchmark(OperationsPerInvoke = PythonLoop)]
    public double SimulatorStepInPython() => _env.RunOnThread(() => _host.Invoke("loop", () =>
    {
        using var n = new PyInt(PythonLoop);
        using PyObject seconds = _loop.InvokeMethod("steps", _env.PythonEnv!, n);
        return seconds.As<double>();
    })).GetAwaiter().GetResult();

    /// <summary>The reference frame transform (180° rotation, JPEG round-trip) of one frame into a reused buffer (what an observation does).</summary>
    [Benchmark]
    public RgbImage FrameTransform() => LiberoFrame.Prepare(_rawFrame, _prepared);

    /// <summary>The same into a new array per frame.</summary>
    [Benchmark]
    public RgbImage FrameTransformNewArray() => LiberoFrame.Prepare(_rawFrame);

    /// <summary>The JPEG round trip of <see cref="FrameTransform"/> on Skia's codec (the fallback without libturbojpeg).</summary>
    [Benchmark]
    public byte[] FrameTransformSkiaCodec()
    {
        LiberoFrame.JpegRoundTripRotated(_rawFrame, _prepared, systemCodec: false);
        return _prepared;
    }

    /// <summary>Decoding 7 action tokens + EOS into a LIBERO command.</summary>
    [Benchmark]
    public DecodeResult<RobotAction> ActionDecode() => _decoder.Decode(_ids);
}
