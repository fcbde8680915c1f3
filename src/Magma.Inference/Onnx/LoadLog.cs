using System.Diagnostics;

namespace Magma.Inference.Onnx;

/// <summary>
/// Records the stages of a model load (<see cref="MagmaLoadStage"/>): each stage's wall time and, on CUDA, the device
/// memory in use after it. Stages may finish on several threads at once (sessions created side by side).
/// </summary>
internal sealed class LoadLog
{
    private readonly List<MagmaLoadStage> _stages = [];
    private readonly bool _cuda;

    public LoadLog(bool cuda) => _cuda = cuda;

    /// <summary>The stages in the order they ended.</summary>
    public IReadOnlyList<MagmaLoadStage> Stages
    {
        get
        {
            lock (_stages)
            {
                return [.. _stages];
            }
        }
    }

    /// <summary>Ends a stage that began at <paramref name="start"/> (a <see cref="Stopwatch.GetTimestamp"/> value).</summary>
    public void End(string name, long start)
    {
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        long? used = _cuda ? CudaRuntime.TryDeviceBytesInUse() : null;
        lock (_stages)
        {
            _stages.Add(new MagmaLoadStage(name, elapsed, used));
        }
    }
}
