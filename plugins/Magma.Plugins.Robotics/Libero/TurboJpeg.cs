using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Magma.Inference.Imaging;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// The system's libjpeg-turbo through its TurboJPEG API (Debian: <c>libturbojpeg0</c>), for the LIBERO frame's JPEG
/// round trip. It is the codec the reference's TensorFlow and PIL use, with its SIMD paths, and on a 256×256 frame
/// about 4.5 times faster than the same round trip through Skia (whose bundled codec gives the same bytes: tested).
/// Loaded lazily; <see cref="IsAvailable"/> is false when the library is not installed, and callers then use Skia.
/// </summary>
internal static unsafe class TurboJpeg
{
    // TurboJPEG's compressor defaults to the fast (IFAST) DCT; libjpeg's own default, which PIL and TensorFlow use, is
    // the accurate integer DCT. Decompression already defaults to it. NOREALLOC: the output buffer is ours.
    private const int AccurateDct = 4096;
    private const int NoRealloc = 1024;
    private const int PixelFormatRgb = 0;
    private const int Subsampling420 = 2;

    private static readonly Api? s_api = Api.Load();
    private static readonly ConcurrentBag<Codec> s_codecs = [];

    /// <summary>True when libturbojpeg could be loaded.</summary>
    public static bool IsAvailable => s_api is not null;

    /// <summary>
    /// Encodes <paramref name="rgb"/> (HWC, <paramref name="width"/> × <paramref name="height"/>) as a 4:2:0 JPEG of
    /// <paramref name="quality"/> and decodes it back into <paramref name="decoded"/> (same size), as
    /// <c>RgbImage.Decode(image.EncodeJpeg(quality))</c> does; the two may be the same memory. Only when <see cref="IsAvailable"/>.
    /// </summary>
    public static void RoundTrip(ReadOnlySpan<byte> rgb, int width, int height, int quality, Span<byte> decoded)
    {
        Api api = s_api ?? throw new InvalidOperationException("libturbojpeg is not installed ('sudo apt-get install -y libturbojpeg0').");
        Codec codec = s_codecs.TryTake(out Codec? c) ? c : new Codec(api);
        try
        {
            CULong capacity = api.BufSize(width, height, Subsampling420);
            if ((ulong)codec.Jpeg.Length < capacity.Value)
            {
                codec.Jpeg = GC.AllocateUninitializedArray<byte>(checked((int)capacity.Value));
            }

            fixed (byte* source = rgb)
            fixed (byte* target = decoded)
            fixed (byte* jpeg = codec.Jpeg)
            {
                byte* output = jpeg;
                CULong size = capacity;
                Check(api, codec.Compressor, api.Compress2(
                    codec.Compressor, source, width, width * 3, height, PixelFormatRgb, &output, &size, Subsampling420, quality, NoRealloc | AccurateDct));
                Check(api, codec.Decompressor, api.Decompress2(codec.Decompressor, jpeg, size, target, width, width * 3, height, PixelFormatRgb, 0));
            }
        }
        finally
        {
            s_codecs.Add(codec);
        }
    }

    private static void Check(Api api, IntPtr handle, int result)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"libturbojpeg failed: {Marshal.PtrToStringUTF8(api.GetErrorStr2(handle))}.");
        }
    }

    /// <summary>
    /// A compressor and a decompressor handle (a TurboJPEG handle serves one thread at a time) and a JPEG buffer; kept
    /// in a pool for the life of the process, so there are at most as many as transforms ever ran at once.
    /// </summary>
    private sealed class Codec(Api api)
    {
        public IntPtr Compressor { get; } = api.InitCompress();

        public IntPtr Decompressor { get; } = api.InitDecompress();

        public byte[] Jpeg { get; set; } = [];
    }

    /// <summary>The TurboJPEG 2.x entry points, resolved by hand (the assembly's import resolver belongs to CUDA).</summary>
    private sealed class Api
    {
        public delegate* unmanaged<IntPtr> InitCompress { get; private init; }

        public delegate* unmanaged<IntPtr> InitDecompress { get; private init; }

        public delegate* unmanaged<int, int, int, CULong> BufSize { get; private init; }

        public delegate* unmanaged<IntPtr, byte*, int, int, int, int, byte**, CULong*, int, int, int, int> Compress2 { get; private init; }

        public delegate* unmanaged<IntPtr, byte*, CULong, byte*, int, int, int, int, int, int> Decompress2 { get; private init; }

        public delegate* unmanaged<IntPtr, IntPtr> GetErrorStr2 { get; private init; }

        public static Api? Load()
        {
            // The versioned name first: Debian's runtime package has no unversioned symlink (that is in -dev).
            foreach (string name in (string[])["libturbojpeg.so.0", "libturbojpeg.0.dylib", "turbojpeg.dll"])
            {
                if (NativeLibrary.TryLoad(name, typeof(TurboJpeg).Assembly, null, out IntPtr library))
                {
                    return new Api
                    {
                        InitCompress = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, "tjInitCompress"),
                        InitDecompress = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, "tjInitDecompress"),
                        BufSize = (delegate* unmanaged<int, int, int, CULong>)NativeLibrary.GetExport(library, "tjBufSize"),
                        Compress2 = (delegate* unmanaged<IntPtr, byte*, int, int, int, int, byte**, CULong*, int, int, int, int>)NativeLibrary.GetExport(library, "tjCompress2"),
                        Decompress2 = (delegate* unmanaged<IntPtr, byte*, CULong, byte*, int, int, int, int, int, int>)NativeLibrary.GetExport(library, "tjDecompress2"),
                        GetErrorStr2 = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(library, "tjGetErrorStr2"),
                    };
                }
            }

            return null;
        }
    }
}
