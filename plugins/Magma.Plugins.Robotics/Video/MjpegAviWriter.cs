using System.Buffers.Binary;
using System.Text;

namespace Magma.Plugins.Robotics.Video;

/// <summary>
/// The no-external-tool fallback for episode videos: Motion-JPEG frames in an AVI container (RIFF, one video stream,
/// an idx1 index), playable by ffmpeg, VLC and browsers' download viewers. Written frame by frame; sizes are patched
/// on close.
/// </summary>
internal sealed class MjpegAviWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly List<(long Offset, int Size)> _index = [];
    private readonly int _width;
    private readonly int _height;
    private readonly int _fps;
    private long _moviStart;
    private int _maxFrame;
    private bool _closed;

    internal MjpegAviWriter(string path, int width, int height, int fps)
    {
        _width = width;
        _height = height;
        _fps = fps;
        _file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        WriteHeaders();
    }

    internal void AddJpeg(ReadOnlySpan<byte> jpeg)
    {
        long offset = _file.Position - _moviStart;
        WriteFourCc("00dc");
        WriteInt(jpeg.Length);
        _file.Write(jpeg);
        if ((jpeg.Length & 1) == 1)
        {
            _file.WriteByte(0);
        }

        _index.Add((offset, jpeg.Length));
        _maxFrame = Math.Max(_maxFrame, jpeg.Length);
    }

    private void WriteHeaders()
    {
        WriteFourCc("RIFF");
        WriteInt(0); // patched: file size - 8
        WriteFourCc("AVI ");
        WriteFourCc("LIST");
        WriteInt(4 + (8 + 56) + (8 + 4 + (8 + 56) + (8 + 40)));
        WriteFourCc("hdrl");
        WriteFourCc("avih");
        WriteInt(56);
        WriteInt(1_000_000 / _fps); // microseconds per frame
        WriteInt(0);
        WriteInt(0);
        WriteInt(0x10); // AVIF_HASINDEX
        WriteInt(0); // patched (offset 48): total frames
        WriteInt(0);
        WriteInt(1); // streams
        WriteInt(0); // patched: suggested buffer size
        WriteInt(_width);
        WriteInt(_height);
        for (int i = 0; i < 4; i++)
        {
            WriteInt(0);
        }

        WriteFourCc("LIST");
        WriteInt(4 + (8 + 56) + (8 + 40));
        WriteFourCc("strl");
        WriteFourCc("strh");
        WriteInt(56);
        WriteFourCc("vids");
        WriteFourCc("MJPG");
        WriteInt(0); // flags
        WriteInt(0); // priority + language
        WriteInt(0); // initial frames
        WriteInt(1); // scale
        WriteInt(_fps); // rate
        WriteInt(0); // start
        WriteInt(0); // patched (offset 140): length in frames
        WriteInt(0); // suggested buffer size
        WriteInt(-1); // quality
        WriteInt(0); // sample size
        WriteShort(0);
        WriteShort(0);
        WriteShort((short)_width);
        WriteShort((short)_height);
        WriteFourCc("strf");
        WriteInt(40);
        WriteInt(40);
        WriteInt(_width);
        WriteInt(_height);
        WriteShort(1);
        WriteShort(24);
        WriteFourCc("MJPG");
        WriteInt(_width * _height * 3);
        for (int i = 0; i < 4; i++)
        {
            WriteInt(0);
        }

        WriteFourCc("LIST");
        WriteInt(0); // patched: movi size
        _moviStart = _file.Position;
        WriteFourCc("movi");
    }

    public void Dispose()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        long moviEnd = _file.Position;
        WriteFourCc("idx1");
        WriteInt(_index.Count * 16);
        foreach ((long offset, int size) in _index)
        {
            WriteFourCc("00dc");
            WriteInt(0x10); // AVIIF_KEYFRAME
            WriteInt((int)offset);
            WriteInt(size);
        }

        long end = _file.Position;
        Patch(4, (int)(end - 8));
        Patch(48, _index.Count);
        Patch(60, _maxFrame + 8);
        Patch(140, _index.Count);
        Patch(_moviStart - 4, (int)(moviEnd - _moviStart));
        _file.Dispose();
    }

    private void Patch(long position, int value)
    {
        _file.Position = position;
        WriteInt(value);
    }

    private void WriteFourCc(string code) => _file.Write(Encoding.ASCII.GetBytes(code));

    private void WriteInt(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        _file.Write(b);
    }

    private void WriteShort(short value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteInt16LittleEndian(b, value);
        _file.Write(b);
    }
}
