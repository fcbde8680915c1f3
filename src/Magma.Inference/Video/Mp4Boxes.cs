using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Magma.Inference.Video;

/// <summary>
/// Reads what <see cref="VideoReader.ProbeAsync"/> needs from a plain MP4/MOV file's <c>moov</c> box, so the common
/// case starts no ffprobe (its start-up alone is ~0.1 s on a small VM). Computes the fields as ffmpeg 5.1's mov
/// demuxer and ffprobe do (frame count from <c>stts</c>, average rate from <c>mdhd</c>'s timescale and <c>stts</c>,
/// duration from <c>mdhd</c>, values printed to 6 decimals), and returns null — ffprobe decides — for anything it
/// does not reproduce exactly: fragments, several or no video tracks, edit lists other than ffmpeg's single B-frame
/// shift, variable frame rates, unknown codecs, stsd/tkhd sizes that disagree, corrupt or truncated boxes.
/// </summary>
internal static class Mp4Boxes
{
    // A moov this large means hours of video or a broken size; ffprobe handles those.
    private const long MaxMoovBytes = 64L << 20;
    private const int MaxTopLevelBoxes = 4096;

    // Codecs Debian's ffmpeg decodes and whose sample-entry size is the decoded size.
    private static readonly HashSet<string> VideoCodecs = new(StringComparer.Ordinal) { "avc1", "avc3", "hvc1", "hev1", "mp4v", "av01", "vp09" };

    /// <summary>The video's info, or null when ffprobe must be asked.</summary>
    public static VideoInfo? TryRead(string path)
    {
        try
        {
            using FileStream file = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
            byte[]? moov = ReadMoov(file);
            return moov is null ? null : Parse(moov, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>The moov payload of a non-fragmented ISO BMFF file, or null.</summary>
    private static byte[]? ReadMoov(FileStream file)
    {
        Span<byte> header = stackalloc byte[16];
        long length = file.Length, at = 0;
        byte[]? moov = null;
        for (int n = 0; at < length; n++)
        {
            if (n == MaxTopLevelBoxes || file.ReadAtLeast(header[..8], 8, throwOnEndOfStream: false) < 8)
            {
                return null;
            }

            long size = BinaryPrimitives.ReadUInt32BigEndian(header);
            string type = Type(header[4..8]);
            int headerSize = 8;
            if (size == 1)
            {
                if (file.ReadAtLeast(header[8..16], 8, throwOnEndOfStream: false) < 8)
                {
                    return null;
                }

                size = BinaryPrimitives.ReadInt64BigEndian(header[8..16]);
                headerSize = 16;
            }
            else if (size == 0)
            {
                size = length - at;
            }

            if (size < headerSize || size > length - at)
            {
                return null; // Truncated or corrupt: ffprobe words the error.
            }

            if (n == 0 && type is not ("ftyp" or "moov" or "mdat" or "wide" or "free" or "skip"))
            {
                return null;
            }

            if (type is "moof" or "mfra" || (type == "moov" && moov is not null))
            {
                return null;
            }

            if (type == "moov")
            {
                if (size - headerSize > MaxMoovBytes)
                {
                    return null;
                }

                moov = new byte[size - headerSize];
                file.ReadExactly(moov);
            }

            at += size;
            file.Seek(at, SeekOrigin.Begin);
        }

        return moov;
    }

    private static VideoInfo? Parse(byte[] moov, string path)
    {
        ReadOnlySpan<byte> m = moov;
        if (Child(m, "mvex").Length > 0 || Child(m, "mvhd") is not { Length: >= 20 } mvhd)
        {
            return null;
        }

        long movieScale = BinaryPrimitives.ReadUInt32BigEndian(mvhd[(mvhd[0] == 1 ? 20 : 12)..]);
        Track? video = null;
        int offset = 0;
        while (NextChild(m, ref offset, out string type, out ReadOnlySpan<byte> body))
        {
            if (type != "trak")
            {
                continue;
            }

            ReadOnlySpan<byte> mdia = Child(body, "mdia");
            ReadOnlySpan<byte> hdlr = Child(mdia, "hdlr");
            if (hdlr.Length < 12)
            {
                return null;
            }

            if (Type(hdlr[8..12]) != "vide")
            {
                continue;
            }

            if (video is not null)
            {
                return null; // Several video tracks: which is v:0 is ffprobe's call.
            }

            video = ReadTrack(body, mdia);
            if (video is null)
            {
                return null;
            }
        }

        return video is null ? null : ToInfo(video, movieScale, path);
    }

    private sealed record Track(int Width, int Height, long TimeScale, long MediaDuration, uint[] SttsCounts, uint[] SttsDeltas,
        long SampleCount, (uint Count, int Offset)[] Ctts, (long Duration, long MediaTime, int Rate)[]? Edits);

    // Each step returns false (null: ffprobe decides) for a box it does not reproduce exactly; they run in box order.
    private static Track? ReadTrack(ReadOnlySpan<byte> trak, ReadOnlySpan<byte> mdia)
    {
        ReadOnlySpan<byte> mdhd = Child(mdia, "mdhd");
        ReadOnlySpan<byte> stbl = Child(Child(mdia, "minf"), "stbl");
        if (mdhd.Length < 24 || stbl.Length == 0)
        {
            return null;
        }

        bool v1 = mdhd[0] == 1;
        long timeScale = BinaryPrimitives.ReadUInt32BigEndian(mdhd[(v1 ? 20 : 12)..]);
        long mediaDuration = v1 ? BinaryPrimitives.ReadInt64BigEndian(mdhd[24..]) : BinaryPrimitives.ReadUInt32BigEndian(mdhd[16..]);
        if (!TryReadSampleEntrySize(stbl, out int width, out int height) ||
            !TrackHeaderHasSize(trak, width, height) ||
            !TryReadStts(stbl, out uint[] counts, out uint[] deltas) ||
            !TryReadSampleCount(stbl, out long sampleCount) ||
            !TryReadCtts(stbl, out (uint, int)[] ctts) ||
            !TryReadEdits(trak, out (long, long, int)[]? edits))
        {
            return null;
        }

        return new Track(width, height, timeScale, mediaDuration, counts, deltas, sampleCount, ctts, edits);
    }

    /// <summary>stsd: one visual sample entry of a known codec; its width/height is the coded picture's display size.</summary>
    private static bool TryReadSampleEntrySize(ReadOnlySpan<byte> stbl, out int width, out int height)
    {
        width = height = 0;
        ReadOnlySpan<byte> stsd = Child(stbl, "stsd");
        if (stsd.Length < 8 + 8 + 28 || BinaryPrimitives.ReadUInt32BigEndian(stsd[4..]) != 1 || !VideoCodecs.Contains(Type(stsd[12..16])))
        {
            return false;
        }

        ReadOnlySpan<byte> entry = stsd[16..];
        width = BinaryPrimitives.ReadUInt16BigEndian(entry[24..]);
        height = BinaryPrimitives.ReadUInt16BigEndian(entry[26..]);
        return true;
    }

    /// <summary>
    /// ffprobe reports the decoder's size. Some encoders put the coded size (1920x1088) in stsd and the shown one in
    /// tkhd; anamorphic video shows a different tkhd width. Either way the sizes disagree and ffprobe decides.
    /// </summary>
    private static bool TrackHeaderHasSize(ReadOnlySpan<byte> trak, int width, int height)
    {
        ReadOnlySpan<byte> tkhd = Child(trak, "tkhd");
        int sizeAt = tkhd.Length > 0 && tkhd[0] == 1 ? 88 : 76;
        return tkhd.Length >= sizeAt + 8 &&
            BinaryPrimitives.ReadUInt32BigEndian(tkhd[sizeAt..]) == (uint)width << 16 &&
            BinaryPrimitives.ReadUInt32BigEndian(tkhd[(sizeAt + 4)..]) == (uint)height << 16;
    }

    /// <summary>stts: one or two (count, delta) entries; more is a variable rate, which ffprobe handles.</summary>
    private static bool TryReadStts(ReadOnlySpan<byte> stbl, out uint[] counts, out uint[] deltas)
    {
        counts = deltas = [];
        ReadOnlySpan<byte> stts = Child(stbl, "stts");
        if (stts.Length < 8)
        {
            return false;
        }

        int sttsEntries = checked((int)BinaryPrimitives.ReadUInt32BigEndian(stts[4..]));
        if (sttsEntries is < 1 or > 2 || stts.Length < 8 + (8 * sttsEntries))
        {
            return false;
        }

        counts = new uint[sttsEntries];
        deltas = new uint[sttsEntries];
        for (int i = 0; i < sttsEntries; i++)
        {
            counts[i] = BinaryPrimitives.ReadUInt32BigEndian(stts[(8 + (8 * i))..]);
            deltas[i] = BinaryPrimitives.ReadUInt32BigEndian(stts[(12 + (8 * i))..]);
        }

        return true;
    }

    private static bool TryReadSampleCount(ReadOnlySpan<byte> stbl, out long sampleCount)
    {
        ReadOnlySpan<byte> stsz = Child(stbl, "stsz");
        sampleCount = stsz.Length < 12 ? 0 : BinaryPrimitives.ReadUInt32BigEndian(stsz[8..]);
        return stsz.Length >= 12;
    }

    /// <summary>ctts, when present: (count, composition offset) runs; a version-0 offset above int.MaxValue is refused.</summary>
    private static bool TryReadCtts(ReadOnlySpan<byte> stbl, out (uint, int)[] ctts)
    {
        ctts = [];
        ReadOnlySpan<byte> cttsBox = Child(stbl, "ctts");
        if (cttsBox.Length == 0)
        {
            return true;
        }

        int n = checked((int)BinaryPrimitives.ReadUInt32BigEndian(cttsBox[4..]));
        if (cttsBox.Length < 8 + (8L * n))
        {
            return false;
        }

        var runs = new (uint, int)[n];
        for (int i = 0; i < n; i++)
        {
            uint raw = BinaryPrimitives.ReadUInt32BigEndian(cttsBox[(12 + (8 * i))..]);
            if (cttsBox[0] == 0 && raw > int.MaxValue)
            {
                return false;
            }

            runs[i] = (BinaryPrimitives.ReadUInt32BigEndian(cttsBox[(8 + (8 * i))..]), unchecked((int)raw));
        }

        ctts = runs;
        return true;
    }

    /// <summary>edts/elst, when present: (segment duration, media time, rate) per edit; null when there is none.</summary>
    private static bool TryReadEdits(ReadOnlySpan<byte> trak, out (long, long, int)[]? edits)
    {
        edits = null;
        ReadOnlySpan<byte> elst = Child(Child(trak, "edts"), "elst");
        if (elst.Length == 0)
        {
            return true;
        }

        bool e1 = elst[0] == 1;
        int n = checked((int)BinaryPrimitives.ReadUInt32BigEndian(elst[4..]));
        int size = e1 ? 20 : 12;
        if (elst.Length < 8 + ((long)size * n))
        {
            return false;
        }

        edits = new (long, long, int)[n];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<byte> e = elst[(8 + (size * i))..];
            edits[i] = e1
                ? (BinaryPrimitives.ReadInt64BigEndian(e), BinaryPrimitives.ReadInt64BigEndian(e[8..]), BinaryPrimitives.ReadInt32BigEndian(e[16..]))
                : (BinaryPrimitives.ReadUInt32BigEndian(e), BinaryPrimitives.ReadInt32BigEndian(e[4..]), BinaryPrimitives.ReadInt32BigEndian(e[8..]));
        }

        return true;
    }

    private static VideoInfo? ToInfo(Track t, long movieScale, string path)
    {
        long total = 0;
        foreach (uint c in t.SttsCounts)
        {
            total += c;
        }

        // One stts entry: a constant rate, the only case the tests check against ffprobe (a different last frame, or
        // a variable rate, goes to ffprobe). mdhd's duration must be the samples' total, which ffprobe then reports.
        if (t.Width <= 0 || t.Height <= 0 || t.TimeScale <= 0 || movieScale <= 0 || total <= 0 || total != t.SampleCount ||
            total > int.MaxValue || t.SttsCounts.Length != 1 || t.SttsDeltas[0] == 0 || t.MediaDuration != total * t.SttsDeltas[0])
        {
            return null;
        }

        // As mov_read_stts/mov_read_header: avg_frame_rate = timescale * samples / total sample duration, reduced.
        long sttsDuration = t.MediaDuration;
        if (!TryReduce(t.TimeScale * total, sttsDuration, out long num, out long den))
        {
            return null;
        }

        // Presentation times: the edit list must be absent (and then no reordering), or ffmpeg's own single edit that
        // starts exactly at the first presented frame and covers every frame; anything else shifts or drops frames.
        long minCts = long.MaxValue, maxCts = long.MinValue;
        long dts = 0, sample = 0;
        int cttsEntry = 0;
        uint cttsLeft = t.Ctts.Length > 0 ? t.Ctts[0].Count : 0;
        for (int i = 0; i < t.SttsCounts.Length; i++)
        {
            for (uint k = 0; k < t.SttsCounts[i]; k++, sample++)
            {
                long offset = 0;
                if (t.Ctts.Length > 0)
                {
                    while (cttsLeft == 0 && ++cttsEntry < t.Ctts.Length)
                    {
                        cttsLeft = t.Ctts[cttsEntry].Count;
                    }

                    if (cttsEntry >= t.Ctts.Length)
                    {
                        return null;
                    }

                    offset = t.Ctts[cttsEntry].Offset;
                    cttsLeft--;
                }

                long cts = dts + offset;
                minCts = Math.Min(minCts, cts);
                maxCts = Math.Max(maxCts, cts);
                dts += t.SttsDeltas[i];
            }
        }

        if (t.Edits is null)
        {
            if (t.Ctts.Length > 0 || minCts != 0)
            {
                return null;
            }
        }
        else if (t.Edits.Length != 1 || t.Edits[0].Rate != 0x10000 || t.Edits[0].MediaTime != minCts ||
                 (decimal)t.Edits[0].Duration * t.TimeScale <= (decimal)(maxCts - minCts) * movieScale)
        {
            return null;
        }

        // ffprobe prints seconds with 6 decimals and VideoReader parses that text back: the same value here.
        double duration = Printed(t.MediaDuration * (1.0 / t.TimeScale));
        return new VideoInfo(path, t.Width, t.Height, (int)total, num / (double)den, TimeSpan.FromSeconds(duration)) { StartSeconds = 0 };
    }

    private static double Printed(double seconds) =>
        double.Parse(seconds.ToString("F6", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>As av_reduce with INT_MAX bounds, but only where the fraction reduces exactly (else ffprobe).</summary>
    private static bool TryReduce(long num, long den, out long n, out long d)
    {
        n = d = 0;
        if (num <= 0 || den <= 0)
        {
            return false;
        }

        long g = (long)System.Numerics.BigInteger.GreatestCommonDivisor(num, den);
        n = num / g;
        d = den / g;
        return n <= int.MaxValue && d <= int.MaxValue;
    }

    private static ReadOnlySpan<byte> Child(ReadOnlySpan<byte> parent, string type)
    {
        int offset = 0;
        while (NextChild(parent, ref offset, out string t, out ReadOnlySpan<byte> body))
        {
            if (t == type)
            {
                return body;
            }
        }

        return [];
    }

    /// <summary>The next child box; a size that overruns the parent is corruption (FormatException: ffprobe reports it).</summary>
    private static bool NextChild(ReadOnlySpan<byte> parent, scoped ref int offset, out string type, out ReadOnlySpan<byte> body)
    {
        type = "";
        body = [];
        if (parent.Length - offset < 8)
        {
            return false;
        }

        long size = BinaryPrimitives.ReadUInt32BigEndian(parent[offset..]);
        type = Type(parent.Slice(offset + 4, 4));
        int headerSize = 8;
        if (size == 1)
        {
            if (parent.Length - offset < 16)
            {
                throw new FormatException("box header cut");
            }

            size = BinaryPrimitives.ReadInt64BigEndian(parent[(offset + 8)..]);
            headerSize = 16;
        }
        else if (size == 0)
        {
            size = parent.Length - offset;
        }

        if (size < headerSize || size > parent.Length - offset)
        {
            throw new FormatException("box overruns its parent");
        }

        body = parent.Slice(offset + headerSize, (int)size - headerSize);
        offset += (int)size;
        return true;
    }

    private static string Type(ReadOnlySpan<byte> fourCc) => Encoding.Latin1.GetString(fourCc);
}
