using Magma.Inference.Imaging;
using Xunit;

namespace Magma.Inference.Tests.Imaging;

/// <summary>
/// The bilinear source coordinate <c>scale * (d + 0.5) - 0.5</c> is rounded once, as PyTorch's compiled kernel (a fused
/// multiply-add) does. The reference below is exact: the float32 scale times d + 0.5 has at most 37 significant bits,
/// so the product and the subtraction are exact in double and one cast rounds once.
/// </summary>
public sealed class BilinearRoundingTests
{
    private static readonly int[] InputSizes = [1, 2, 3, 37, 47, 60, 61, 83, 97, 100, 200, 224, 480, 511, 513, 720, 768, 1000, 1025, 1080, 1111, 1366, 1920, 2400, 3000];
    private static readonly int[] OutputSizes = [512, 1024, 1536, 2048];

    public static TheoryData<int, int> Axes()
    {
        var data = new TheoryData<int, int>();
        foreach (int i in InputSizes)
        {
            foreach (int o in OutputSizes)
            {
                data.Add(i, o);
            }
        }

        return data;
    }

    private static (int I0, float Lambda) Reference(float scale, int d, int inSize, bool fused)
    {
        float src = fused ? (float)((scale * (d + 0.5)) - 0.5) : RoundedTwice(scale, d);
        src = Math.Max(src, 0f);
        int i = Math.Min((int)src, inSize - 1);
        return (i, Math.Min(Math.Max(src - i, 0f), 1f));
    }

    private static float RoundedTwice(float scale, int d)
    {
        float product = scale * (d + 0.5f); // rounded to float32 here...
        return product - 0.5f;              // ...and again here
    }

    [Theory]
    [MemberData(nameof(Axes))]
    public void Indices_and_weights_follow_the_single_rounding_of_the_reference(int inSize, int outSize)
    {
        int[] i0 = new int[outSize], i1 = new int[outSize];
        float[] l0 = new float[outSize], l1 = new float[outSize];
        ImagePreprocessor.ComputeAxis(inSize, outSize, i0, i1, l0, l1);
        float scale = (float)inSize / outSize;
        for (int d = 0; d < outSize; d++)
        {
            (int i, float lambda) = Reference(scale, d, inSize, fused: true);
            Assert.True(i == i0[d] && lambda == l1[d] && 1f - lambda == l0[d], $"{inSize}->{outSize} d={d}: ({i0[d]}, {l1[d]:R}) vs reference ({i}, {lambda:R})");
        }
    }

    [Fact]
    public void Rounding_twice_differs_on_sizes_the_goldens_use()
    {
        // Without this the theory above could pass with either rounding: some axes must tell them apart.
        int differing = 0;
        foreach (int inSize in InputSizes)
        {
            foreach (int outSize in OutputSizes)
            {
                float scale = (float)inSize / outSize;
                for (int d = 0; d < outSize; d++)
                {
                    differing += Reference(scale, d, inSize, fused: true) != Reference(scale, d, inSize, fused: false) ? 1 : 0;
                }
            }
        }

        Assert.True(differing > 0);
    }
}
