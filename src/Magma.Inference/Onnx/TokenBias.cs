using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Magma.Inference.Onnx;

/// <summary>The decoder's optional <c>token_bias</c> row: 0 for allowed ids, negative infinity for the rest.</summary>
internal static class TokenBias
{
    /// <summary>Writes the row for <paramref name="allowed"/> into <paramref name="row"/> ([V] elements of <paramref name="type"/>); ids past V are ignored.</summary>
    public static void Fill(Span<byte> row, TensorElementType type, ReadOnlySpan<int> allowed)
    {
        if (type == TensorElementType.Float)
        {
            Fill(MemoryMarshal.Cast<byte, float>(row), float.NegativeInfinity, 0f, allowed);
        }
        else
        {
            Fill(MemoryMarshal.Cast<byte, Half>(row), Half.NegativeInfinity, Half.Zero, allowed);
        }
    }

    private static void Fill<T>(Span<T> bias, T forbidden, T allowedValue, ReadOnlySpan<int> allowed)
    {
        bias.Fill(forbidden);
        foreach (int id in allowed)
        {
            if ((uint)id < (uint)bias.Length)
            {
                bias[id] = allowedValue;
            }
        }
    }
}
