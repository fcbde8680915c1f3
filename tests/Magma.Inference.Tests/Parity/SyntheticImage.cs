namespace Magma.Inference.Tests.Parity;

/// <summary>
/// The seeded test image of tools/export/make_golden_preprocessing.py (synthetic_image), bit for bit:
/// a gradient plus hashed noise in 32-bit wrapping arithmetic, so large golden inputs need not be committed.
/// </summary>
internal static class SyntheticImage
{
    public static byte[] Create(int width, int height, int seed)
    {
        var rgb = new byte[checked(width * height * 3)];
        uint seedMix = unchecked((uint)seed * 2654435761u);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    uint h = unchecked(((uint)x * 73856093u) ^ ((uint)y * 19349663u) ^ ((uint)(c + 1) * 83492791u) ^ seedMix);
                    h ^= h >> 15;
                    h = unchecked(h * 0x2C1B3C6Du);
                    h ^= h >> 12;
                    long gradient = ((long)x * 256 / width) + ((long)y * 256 / height) + (c * 85);
                    long value = (gradient % 256) + ((h >> 13) & 63) - 32;
                    rgb[((y * width) + x) * 3 + c] = (byte)Math.Clamp(value, 0, 255);
                }
            }
        }
        return rgb;
    }
}
