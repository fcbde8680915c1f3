using Magma.Inference.Video;
using Xunit;

namespace Magma.Inference.Tests.Video;

public sealed class FrameShaperTests
{
    [Theory]
    [InlineData(1280, 720, 512, 512)]
    [InlineData(1920, 1080, 1024, 512)]
    [InlineData(640, 480, 512, 1024)]
    [InlineData(37, 23, 19, 41)]
    [InlineData(1, 1, 5, 3)]
    public void The_vectorised_stretch_gives_the_bytes_of_the_plain_per_value_loop(int inW, int inH, int outW, int outH)
    {
        byte[] src = new byte[inW * inH * 3];
        new Random(inW + outH).NextBytes(src);
        byte[] actual = new byte[outW * outH * 3];
        FrameShaper.Resize(src, inW, inH, actual, outW, outH);
        Assert.Equal(PlainResize(src, inW, inH, outW, outH), actual);
    }

    // The rule written out one output value at a time: PyTorch's bilinear indices and weights (align_corners=False,
    // float32), horizontal then vertical, rounded to the nearest 8-bit level.
    private static byte[] PlainResize(byte[] src, int inW, int inH, int outW, int outH)
    {
        byte[] dst = new byte[outW * outH * 3];
        for (int y = 0; y < outH; y++)
        {
            (int y0, int y1, float wy) = Index(inH, outH, y);
            for (int x = 0; x < outW; x++)
            {
                (int x0, int x1, float wx) = Index(inW, outW, x);
                for (int c = 0; c < 3; c++)
                {
                    float top = (src[(((y0 * inW) + x0) * 3) + c] * (1f - wx)) + (src[(((y0 * inW) + x1) * 3) + c] * wx);
                    float bottom = (src[(((y1 * inW) + x0) * 3) + c] * (1f - wx)) + (src[(((y1 * inW) + x1) * 3) + c] * wx);
                    dst[(((y * outW) + x) * 3) + c] = (byte)((top * (1f - wy)) + (bottom * wy) + 0.5f);
                }
            }
        }

        return dst;
    }

    private static (int I0, int I1, float W1) Index(int inSize, int outSize, int d)
    {
        float scale = (float)inSize / outSize;
        float s = Math.Max((scale * (d + 0.5f)) - 0.5f, 0f);
        int i = Math.Min((int)s, inSize - 1);
        return (i, i + (i < inSize - 1 ? 1 : 0), Math.Clamp(s - i, 0f, 1f));
    }
}
