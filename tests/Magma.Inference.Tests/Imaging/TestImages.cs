using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Magma.Inference.Imaging;
using SkiaSharp;

namespace Magma.Inference.Tests.Imaging;

/// <summary>Builds small encoded images in memory so the tests need no binary assets.</summary>
internal static class TestImages
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>A deterministic non-symmetric RGB pattern.</summary>
    public static byte[] Pattern(int width, int height, int seed = 1)
    {
        var rgb = new byte[width * height * 3];
        var rnd = new Random(seed);
        rnd.NextBytes(rgb);
        return rgb;
    }

    /// <summary>Smooth gradient (survives JPEG well): R follows x, G follows y, B constant.</summary>
    public static byte[] Gradient(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 3;
                rgb[i] = (byte)(x * 255 / Math.Max(1, width - 1));
                rgb[i + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                rgb[i + 2] = 60;
            }
        }

        return rgb;
    }

    /// <summary>Encodes RGBA bytes (unpremultiplied) with Skia.</summary>
    public static byte[] EncodeRgba(int width, int height, byte[] rgba, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        rgba.CopyTo(bitmap.GetPixelSpan());
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData? data = format switch
        {
            SKEncodedImageFormat.Webp => pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100)),
            SKEncodedImageFormat.Png => pixmap.Encode(SKPngEncoderOptions.Default),
            SKEncodedImageFormat.Jpeg => pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample444, SKJpegEncoderAlphaOption.Ignore)),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
        return data!.ToArray();
    }

    public static byte[] EncodeRgb(int width, int height, byte[] rgb, SKEncodedImageFormat format, int quality = 100)
    {
        var rgba = new byte[width * height * 4];
        for (int i = 0; i < width * height; i++)
        {
            rgba[i * 4] = rgb[i * 3];
            rgba[(i * 4) + 1] = rgb[(i * 3) + 1];
            rgba[(i * 4) + 2] = rgb[(i * 3) + 2];
            rgba[(i * 4) + 3] = 255;
        }

        return EncodeRgba(width, height, rgba, format, quality);
    }

    /// <summary>Hand-built PNG: raw scanlines (filter 0) for any colour type / bit depth, optional PLTE.</summary>
    public static byte[] Png(int width, int height, byte colorType, byte bitDepth, byte[] rawRows, byte[]? palette = null)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        WriteChunk(ms, "IHDR", ihdr);
        if (palette is not null)
        {
            WriteChunk(ms, "PLTE", palette);
        }

        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                z.Write(rawRows);
            }

            WriteChunk(ms, "IDAT", compressed.ToArray());
        }

        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    /// <summary>Just a PNG signature and IHDR (no pixel data): enough for a decoder to read the size.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 2;
        WriteChunk(ms, "IHDR", ihdr);
        // A tiny valid IDAT start so the codec accepts the header; the pixels are nowhere near complete.
        WriteChunk(ms, "IDAT", [0x78, 0x9C, 0x03, 0x00]);
        return ms.ToArray();
    }

    /// <summary>24-bit bottom-up BMP.</summary>
    public static byte[] Bmp(int width, int height, byte[] rgb)
    {
        int rowSize = ((width * 3) + 3) & ~3;
        int dataSize = rowSize * height;
        var bmp = new byte[54 + dataSize];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), dataSize);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + ((height - 1 - y) * rowSize);
            for (int x = 0; x < width; x++)
            {
                int s = ((y * width) + x) * 3, d = row + (x * 3);
                bmp[d] = rgb[s + 2];
                bmp[d + 1] = rgb[s + 1];
                bmp[d + 2] = rgb[s];
            }
        }

        return bmp;
    }

    /// <summary>
    /// A 2×1 GIF with a 2-entry global palette (index 0 = red, 1 = blue), pixels [0, 1]. LZW codes (3 bits):
    /// clear(4), 0, 1, end(5) packed LSB-first = 0x44, 0x0A.
    /// </summary>
    public static byte[] PaletteGif() =>
    [
        (byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'9', (byte)'a',
        0x02, 0x00, 0x01, 0x00, // 2 x 1
        0x80, 0x00, 0x00,       // global colour table, 2 entries
        0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF,
        0x2C, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, // image descriptor
        0x02, 0x02, 0x44, 0x0A, 0x00, // min code size 2, one 2-byte block, terminator
        0x3B,
    ];

    /// <summary>Inserts an EXIF APP1 segment with the given orientation right after the JPEG SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new List<byte>();
        tiff.AddRange("II"u8.ToArray());
        tiff.AddRange(BitConverter.GetBytes((ushort)42));
        tiff.AddRange(BitConverter.GetBytes(8u));
        tiff.AddRange(BitConverter.GetBytes((ushort)1)); // one IFD entry
        tiff.AddRange(BitConverter.GetBytes((ushort)0x0112)); // Orientation
        tiff.AddRange(BitConverter.GetBytes((ushort)3)); // SHORT
        tiff.AddRange(BitConverter.GetBytes(1u));
        tiff.AddRange(BitConverter.GetBytes(orientation));
        tiff.AddRange([0, 0]);
        tiff.AddRange(BitConverter.GetBytes(0u)); // no next IFD
        byte[] payload = [.. Encoding.ASCII.GetBytes("Exif"), 0, 0, .. tiff];
        int segLength = payload.Length + 2;
        byte[] app1 = [0xFF, 0xE1, (byte)(segLength >> 8), (byte)segLength, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    public static (byte R, byte G, byte B) Pixel(RgbImage image, int x, int y)
    {
        int i = ((y * image.Width) + x) * 3;
        ReadOnlySpan<byte> p = image.Span;
        return (p[i], p[i + 1], p[i + 2]);
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in typeBytes.Concat(data))
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        BinaryPrimitives.WriteUInt32BigEndian(len, crc ^ 0xFFFFFFFFu);
        s.Write(len);
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
