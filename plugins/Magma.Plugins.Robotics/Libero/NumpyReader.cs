using Magma.Inference.Imaging;
using Python.Runtime;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// Copies numpy arrays into .NET through the buffer protocol: one memcpy of a flat, contiguous 1-D uint8 view,
/// never a Python list (a 256×256×3 frame as a list is ~200k boxed ints and costs milliseconds). pythonnet's
/// <see cref="PyBuffer"/> reads only 1-D buffers, and asking it for the format string crashes in 3.2.1 (double free),
/// so the Python side sends flat uint8 views and the shape separately. Call with the GIL held.
/// </summary>
internal static class NumpyReader
{
    /// <summary>
    /// Reads an image sent as <c>(flat uint8 array, height, width)</c> into an <see cref="RgbImage"/> over an array
    /// from <paramref name="pool"/> (a new array when null). With a pool, the image is valid until that array is returned.
    /// </summary>
    internal static RgbImage ReadImage(PyObject image, string key, FrameBufferPool? pool = null)
    {
        using PyObject flat = image[0];
        using PyObject h = image[1];
        using PyObject w = image[2];
        int height = h.As<int>();
        int width = w.As<int>();
        if (height <= 0 || width <= 0)
        {
            throw new InvalidOperationException($"obs['{key}'] arrived as {height}x{width}; expected a positive height and width.");
        }

        int length = checked(height * width * 3);
        byte[] pixels = pool?.Rent(length) ?? GC.AllocateUninitializedArray<byte>(length);
        try
        {
            ReadBytes(flat, pixels, key);
        }
        catch
        {
            pool?.Return(pixels);
            throw;
        }

        return RgbImage.FromPixels(width, height, pixels);
    }

    /// <summary>Reads float64 values sent as their raw bytes (a flat uint8 view).</summary>
    internal static double[] ReadDoubles(PyObject bytes, string key)
    {
        using PyBuffer buffer = bytes.GetBuffer(PyBUF.ND);
        if (buffer.Length % sizeof(double) != 0)
        {
            throw new InvalidOperationException($"obs['{key}'] arrived as {buffer.Length} bytes, not a whole number of float64 values.");
        }

        var raw = new byte[buffer.Length];
        if (raw.Length > 0)
        {
            buffer.Read(raw, 0, raw.Length, 0);
        }

        var values = new double[raw.Length / sizeof(double)];
        Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
        return values;
    }

    /// <summary>Copies a flat uint8 buffer of exactly <c>destination.Length</c> bytes.</summary>
    internal static void ReadBytes(PyObject flat, byte[] destination, string key)
    {
        using PyBuffer buffer = flat.GetBuffer(PyBUF.ND);
        if (buffer.Length != destination.Length || buffer.ItemSize != 1)
        {
            throw new InvalidOperationException(
                $"obs['{key}'] arrived as {buffer.Length} bytes of item size {buffer.ItemSize}; expected {destination.Length} uint8 values (height × width × 3).");
        }

        buffer.Read(destination, 0, destination.Length, 0);
    }
}
