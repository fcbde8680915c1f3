using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>
/// One block of memory the engine owns (host memory, or device memory from the session's allocator) that
/// OrtValues are created over as views. Owning the block gives stable addresses and lets several views of
/// different shapes share it without copies. Host memory is held by a <see cref="SafeHandle"/> (as ONNX Runtime
/// GenAI's C# wrappers hold their native objects), so a buffer that is never disposed is still freed by the
/// finalizer; device memory is owned by an <see cref="OrtValue"/>, which ONNX Runtime finalizes the same way.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private readonly AlignedMemoryHandle? _hostOwner;
    private readonly OrtValue? _deviceOwner;
    private bool _disposed;

    private NativeBuffer(IntPtr pointer, long bytes, OrtMemoryInfo memoryInfo, AlignedMemoryHandle? hostOwner, OrtValue? deviceOwner)
    {
        Pointer = pointer;
        Bytes = bytes;
        MemoryInfo = memoryInfo;
        _hostOwner = hostOwner;
        _deviceOwner = deviceOwner;
    }

    public IntPtr Pointer { get; }

    public long Bytes { get; }

    public OrtMemoryInfo MemoryInfo { get; }

    public bool IsHost => _deviceOwner is null;

    public static NativeBuffer Host(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var owner = AlignedMemoryHandle.Allocate(Math.Max(bytes, 64));
        return new NativeBuffer(owner.DangerousGetHandle(), bytes, OrtMemoryInfo.DefaultInstance, owner, null);
    }

    /// <summary>Allocates from a session allocator (CUDA memory). The OrtValue owns the block; we keep its address.</summary>
    public static NativeBuffer Device(OrtAllocator allocator, long bytes)
    {
        OrtValue owner = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.UInt8, [Math.Max(bytes, 64)]);
        // Taking the span's address reads no device memory; the span is never dereferenced.
        Span<byte> raw = owner.GetTensorMutableRawData();
        IntPtr p = (IntPtr)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(raw));
        return new NativeBuffer(p, bytes, allocator.Info, null, owner);
    }

    public OrtValue View(TensorElementType type, long[] shape, long byteOffset = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long count = 1;
        foreach (long d in shape)
        {
            count *= d;
        }

        long bytes = count * ElementSize(type);
        if (byteOffset < 0 || byteOffset + bytes > Bytes)
        {
            throw new InvalidOperationException($"View of {bytes} bytes at {byteOffset} exceeds a buffer of {Bytes} bytes.");
        }

        return OrtValue.CreateTensorValueWithData(MemoryInfo, type, shape, Pointer + (nint)byteOffset, bytes);
    }

    public Span<T> HostSpan<T>(long byteOffset, int count)
        where T : unmanaged
    {
        if (!IsHost)
        {
            throw new InvalidOperationException("Device memory cannot be read from the host.");
        }

        return new Span<T>((byte*)Pointer + byteOffset, count);
    }

    /// <summary>
    /// Writes <paramref name="source"/> at <paramref name="byteOffset"/>: a memcpy on the host, a CUDA copy on the device
    /// (waited for unless <paramref name="synchronize"/> is false; then call <see cref="Synchronize"/> after the last one).
    /// </summary>
    public void Write(ReadOnlySpan<byte> source, long byteOffset = 0, bool synchronize = true)
    {
        CheckRange(byteOffset, source.Length);
        if (IsHost)
        {
            source.CopyTo(new Span<byte>((byte*)Pointer + byteOffset, source.Length));
        }
        else
        {
            CudaRuntime.CopyToDevice(Pointer + (nint)byteOffset, source, synchronize);
        }
    }

    /// <summary>Waits for unsynchronised <see cref="Write"/>s to device memory to land (nothing to do on the host).</summary>
    public void Synchronize()
    {
        if (!IsHost)
        {
            CudaRuntime.Synchronize();
        }
    }

    /// <summary>Reads <paramref name="destination"/>.Length bytes from <paramref name="byteOffset"/>.</summary>
    public void Read(Span<byte> destination, long byteOffset = 0)
    {
        CheckRange(byteOffset, destination.Length);
        if (IsHost)
        {
            new ReadOnlySpan<byte>((byte*)Pointer + byteOffset, destination.Length).CopyTo(destination);
        }
        else
        {
            CudaRuntime.CopyToHost(destination, Pointer + (nint)byteOffset);
        }
    }

    /// <summary>Zeroes <paramref name="bytes"/> bytes from <paramref name="byteOffset"/>.</summary>
    public void Clear(long byteOffset, long bytes)
    {
        CheckRange(byteOffset, bytes);
        if (IsHost)
        {
            NativeMemory.Clear((byte*)Pointer + byteOffset, (nuint)bytes);
        }
        else
        {
            CudaRuntime.Fill(Pointer + (nint)byteOffset, 0, bytes);
        }
    }

    private void CheckRange(long byteOffset, long bytes)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (byteOffset < 0 || bytes < 0 || byteOffset + bytes > Bytes)
        {
            throw new InvalidOperationException($"{bytes} bytes at {byteOffset} exceed a buffer of {Bytes} bytes.");
        }
    }

    public static int ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 => 4,
        TensorElementType.Float16 or TensorElementType.BFloat16 => 2,
        TensorElementType.Int64 => 8,
        TensorElementType.UInt8 or TensorElementType.Int8 or TensorElementType.Bool => 1,
        _ => throw new NotSupportedException($"Element type {type} is not used by the engine."),
    };

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _hostOwner?.Dispose();
        _deviceOwner?.Dispose();
    }

    /// <summary>The host block as a handle the runtime can finalize.</summary>
    internal SafeHandle? HostHandle => _hostOwner;
}

/// <summary>64-byte aligned host memory from <see cref="NativeMemory.AlignedAlloc"/>, freed once, by Dispose or the finalizer.</summary>
internal sealed unsafe class AlignedMemoryHandle : SafeHandle
{
    // Internal, as visible as the type (CA1419): the marshaller may create handles through it.
    internal AlignedMemoryHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static AlignedMemoryHandle Allocate(long bytes)
    {
        var owner = new AlignedMemoryHandle();
        // Set after construction so that an allocation failure leaves nothing for the finalizer to free.
        owner.SetHandle((IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, 64));
        return owner;
    }

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
