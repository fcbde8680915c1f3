using System.Reflection;
using System.Runtime.InteropServices;

namespace Magma.Inference.Onnx;

/// <summary>
/// The few CUDA runtime calls the engine makes itself: small copies into the device buffers that a captured CUDA graph
/// reads at fixed addresses (the step mask, the token bias) and reads of a few bytes back (the chosen token). ONNX
/// Runtime's CUDA provider links the same <c>libcudart</c>, so nothing new is deployed. Only the CUDA path calls these;
/// the library is resolved on first use.
/// </summary>
internal static partial class CudaRuntime
{
    private const string Library = "cudart";

    private const int HostToDevice = 1;
    private const int DeviceToHost = 2;

    static CudaRuntime() => NativeLibrary.SetDllImportResolver(typeof(CudaRuntime).Assembly, Resolve);

    /// <summary>
    /// Copies host memory to device memory; with <paramref name="synchronize"/> (the default) waits until the device
    /// holds it. Several small copies can skip the wait and end with one <see cref="Synchronize"/>.
    /// </summary>
    public static unsafe void CopyToDevice(IntPtr device, ReadOnlySpan<byte> host, bool synchronize = true)
    {
        fixed (byte* p = host)
        {
            Check(cudaMemcpy(device, (IntPtr)p, (nuint)host.Length, HostToDevice), "cudaMemcpy (host to device)");
        }

        if (synchronize)
        {
            Synchronize();
        }
    }

    /// <summary>
    /// Waits for the device. A copy from pageable memory may return before its DMA lands, and ONNX Runtime's stream does
    /// not wait for the legacy stream: the next graph run must see the bytes.
    /// </summary>
    public static void Synchronize() => Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

    /// <summary>Copies device memory to host memory (synchronous: returns when the bytes are there).</summary>
    public static unsafe void CopyToHost(Span<byte> host, IntPtr device)
    {
        fixed (byte* p = host)
        {
            Check(cudaMemcpy((IntPtr)p, device, (nuint)host.Length, DeviceToHost), "cudaMemcpy (device to host)");
        }
    }

    /// <summary>Sets device bytes to <paramref name="value"/>.</summary>
    public static void Fill(IntPtr device, byte value, long bytes)
    {
        Check(cudaMemset(device, value, (nuint)bytes), "cudaMemset");
        Synchronize();
    }

    /// <summary>
    /// Memory in use on the current device (total minus free, every process), or null when the runtime cannot say;
    /// for load and benchmark reports, never for decisions.
    /// </summary>
    public static long? TryDeviceBytesInUse()
    {
        try
        {
            return cudaMemGetInfo(out nuint free, out nuint total) == 0 ? (long)(total - free) : null;
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Starts the profiler's capture range (ncu/nsys with capture from start off); benchmarks only.</summary>
    public static void ProfilerStart() => Check(cudaProfilerStart(), "cudaProfilerStart");

    /// <summary>Ends the profiler's capture range.</summary>
    public static void ProfilerStop() => Check(cudaProfilerStop(), "cudaProfilerStop");

    private static void Check(int error, string call)
    {
        if (error != 0)
        {
            IntPtr text = cudaGetErrorString(error);
            throw new InvalidOperationException($"{call} failed with CUDA error {error}: {Marshal.PtrToStringAnsi(text)}.");
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        // The CUDA 13 runtime ONNX Runtime 1.31's provider is built against.
        foreach (string candidate in new[] { "libcudart.so.13", "cudart64_13.dll", "libcudart.so" })
        {
            if (NativeLibrary.TryLoad(candidate, assembly, path, out IntPtr handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException(
            "The CUDA runtime (libcudart.so.13 / cudart64_13.dll) is not on the library path; ONNX Runtime's CUDA provider needs it too.");
    }

    [LibraryImport(Library)]
    private static partial int cudaMemcpy(IntPtr dst, IntPtr src, nuint count, int kind);

    [LibraryImport(Library)]
    private static partial int cudaMemset(IntPtr dst, int value, nuint count);

    [LibraryImport(Library)]
    private static partial int cudaDeviceSynchronize();

    [LibraryImport(Library)]
    private static partial IntPtr cudaGetErrorString(int error);

    [LibraryImport(Library)]
    private static partial int cudaMemGetInfo(out nuint free, out nuint total);

    [LibraryImport(Library)]
    private static partial int cudaProfilerStart();

    [LibraryImport(Library)]
    private static partial int cudaProfilerStop();
}
