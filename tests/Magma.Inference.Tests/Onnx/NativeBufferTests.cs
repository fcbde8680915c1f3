using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Onnx;

public sealed class NativeBufferTests
{
    [Fact]
    public void Host_memory_is_held_by_a_safe_handle_that_dispose_closes_once()
    {
        var buffer = NativeBuffer.Host(100);
        SafeHandle handle = Assert.IsAssignableFrom<SafeHandle>(buffer.HostHandle);
        Assert.False(handle.IsInvalid);
        Assert.Equal(handle.DangerousGetHandle(), buffer.Pointer);
        Assert.Equal(0, buffer.Pointer % 64);

        buffer.Dispose();
        buffer.Dispose();

        Assert.True(handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => buffer.Write([1, 2, 3]));
    }

    [Fact]
    public void A_buffer_that_is_never_disposed_is_collected_with_its_handle()
    {
        // A collected SafeHandle has run its critical finalizer, which frees the block (ReleaseHandle).
        (WeakReference buffer, WeakReference handle) = Abandon();
        for (int i = 0; i < 3 && (buffer.IsAlive || handle.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(buffer.IsAlive);
        Assert.False(handle.IsAlive);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Buffer, WeakReference Handle) Abandon()
    {
        var buffer = NativeBuffer.Host(1 << 20);
        buffer.Write([1, 2, 3]);
        return (new WeakReference(buffer), new WeakReference(buffer.HostHandle));
    }
}
