using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Magma.Inference.Imaging;

namespace Magma.Inference.Video;

/// <summary>
/// Reads frames from video files: MP4, WebM, MKV and anything else Debian's <c>ffmpeg</c> decodes, through a pipe
/// (the MP4/MOV index read in C#, else ffprobe, for the frame count, rate and size; ffmpeg's <c>select</c> filter picks
/// the frames by index and writes raw RGB24 to stdout — no temporary files); GIF through SkiaSharp's codec, composited
/// frame by frame. An ffmpeg process is kept started and waiting for the next video
/// (<see cref="VideoDecoderOptions.KeepDecoderWarm"/>). Frame buffers are pooled (<see cref="VideoFrame.Dispose"/>).
/// Cancelling, a decode error or abandoning the enumeration kills the ffmpeg process. Thread-safe.
/// </summary>
public sealed class VideoReader
{
    private readonly List<int> _started = [];

    /// <summary>Creates a reader.</summary>
    /// <param name="options">Tool paths and limits; <see cref="VideoDecoderOptions.Default"/> when null.</param>
    public VideoReader(VideoDecoderOptions? options = null)
    {
        Options = options ?? VideoDecoderOptions.Default;
        if (Options.KeepDecoderWarm && FfmpegTools.TryResolveFfmpeg(Options) is { } ffmpeg)
        {
            // Started now, the decoder is ready by the first video (a model loads meanwhile).
            WarmDecoder.Replenish(ffmpeg);
        }
    }

    /// <summary>Tool paths and limits.</summary>
    public VideoDecoderOptions Options { get; }

    /// <summary>Ids of the ffmpeg/ffprobe processes this reader started (tests check none is left running).</summary>
    internal IReadOnlyList<int> StartedProcessIds
    {
        get
        {
            lock (_started)
            {
                return [.. _started];
            }
        }
    }

    /// <summary>Reads the size, frame count, rate and duration of a video.</summary>
    /// <param name="path">The video file.</param>
    /// <param name="cancellationToken">Cancels the probe (and kills ffprobe).</param>
    /// <exception cref="MagmaInputException">The file is missing, not a video, or has no video stream.</exception>
    /// <exception cref="InvalidOperationException">ffprobe is not installed (the message says how to install it).</exception>
    public async Task<VideoInfo> ProbeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new MagmaInputException($"Video file '{path}' does not exist. Check the path.");
        }

        if (IsGif(path))
        {
            return GifFrames.Probe(path, Options);
        }

        // Plain MP4/MOV: the moov box holds all of it, read here without starting ffprobe (~0.1 s); anything unusual
        // (fragments, edit lists that shift frames, several video tracks, a variable rate, damage) goes to ffprobe.
        VideoInfo info = Mp4Boxes.TryRead(path) ?? await ProbeWithFfprobeAsync(path, cancellationToken).ConfigureAwait(false);
        if ((long)info.Width * info.Height > Options.MaxFramePixels)
        {
            throw new MagmaInputException(
                $"Video '{path}' is {info.Width}x{info.Height}, more than VideoDecoderOptions.MaxFramePixels ({Options.MaxFramePixels}). Downscale it (ffmpeg -vf scale=1280:-2) or raise the limit.");
        }

        return info;
    }

    /// <summary>The ffprobe path of <see cref="ProbeAsync"/>, without the size check (tests compare it with <see cref="Mp4Boxes"/>).</summary>
    internal async Task<VideoInfo> ProbeWithFfprobeAsync(string path, CancellationToken cancellationToken)
    {
        string ffprobe = FfmpegTools.ResolveFfprobe(Options);
        // MP4/MOV headers carry the frame count (nb_frames); WebM/MKV do not, and only then are the packets counted,
        // which reads the whole file.
        string json = await RunProbeAsync(ffprobe, path, countPackets: false, cancellationToken).ConfigureAwait(false);
        if (!HasFrameCount(json))
        {
            json = await RunProbeAsync(ffprobe, path, countPackets: true, cancellationToken).ConfigureAwait(false);
        }

        return ParseProbe(json, path);
    }

    private async Task<string> RunProbeAsync(string ffprobe, string path, bool countPackets, CancellationToken cancellationToken)
    {
        string json;
        int exit;
        string errors;
        await using (FfmpegProcess p = FfmpegProcess.Start(ffprobe,
        [
            "-v", "error", "-protocol_whitelist", FfmpegTools.ProtocolWhitelist, "-select_streams", "v:0", .. (countPackets ? (string[])["-count_packets"] : []),
            "-show_entries", "stream=width,height,nb_read_packets,nb_frames,avg_frame_rate,r_frame_rate,duration,start_time:format=duration",
            "-of", "json", FfmpegTools.FileUrl(path),
        ]))
        {
            Track(p);
            using CancellationTokenRegistration kill = cancellationToken.Register(p.Kill);
            using var reader = new StreamReader(p.Output);
            json = await reader.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false);
            exit = await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            errors = p.ErrorText;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (exit != 0)
        {
            throw new MagmaInputException($"Video '{path}' could not be read by ffprobe (exit code {exit}: {Clip(errors)}). Pass an MP4, WebM, MKV or GIF file that plays.");
        }

        return json;
    }

    private static bool HasFrameCount(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("streams", out JsonElement streams) && streams.GetArrayLength() > 0 && Int(streams[0], "nb_frames") > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Decodes the frames at <paramref name="frameIndices"/> (strictly increasing, 0-based), in order, as they come
    /// out of the decoder. Dispose each frame when done with it.
    /// </summary>
    /// <param name="path">The video file.</param>
    /// <param name="frameIndices">Which frames, e.g. from <see cref="FrameSampler"/>.</param>
    /// <param name="cancellationToken">Cancels decoding and kills ffmpeg.</param>
    /// <exception cref="MagmaInputException">The file cannot be decoded, or an index is past the last frame.</exception>
    /// <exception cref="InvalidOperationException">ffmpeg is not installed.</exception>
    public async IAsyncEnumerable<VideoFrame> ReadFramesAsync(
        string path, IReadOnlyList<int> frameIndices, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        VideoInfo info = await ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        await foreach (VideoFrame frame in ReadFramesAsync(info, path, frameIndices, cancellationToken).ConfigureAwait(false))
        {
            yield return frame;
        }
    }

    /// <summary>Probes the video, picks frames with <paramref name="sampling"/> and decodes them.</summary>
    /// <param name="path">The video file.</param>
    /// <param name="sampling">Which frames; <see cref="VideoSampling.FrameCount"/> (or <see cref="VideoSampling.MaxFrames"/>) uniformly by default.</param>
    /// <param name="cancellationToken">Cancels decoding and kills ffmpeg.</param>
    /// <returns>The frames in order; the caller disposes them.</returns>
    public async Task<IReadOnlyList<VideoFrame>> SampleAsync(string path, VideoSampling? sampling = null, CancellationToken cancellationToken = default)
    {
        sampling ??= VideoSampling.Default;
        VideoInfo info = await ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        int[] indices = FrameSampler.Select(info, sampling, sampling.FrameCount ?? sampling.MaxFrames);
        return await ReadAllAsync(info, path, indices, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<IReadOnlyList<VideoFrame>> ReadAllAsync(VideoInfo info, string path, IReadOnlyList<int> indices, CancellationToken cancellationToken)
    {
        var frames = new List<VideoFrame>(indices.Count);
        try
        {
            await foreach (VideoFrame frame in ReadFramesAsync(info, path, indices, cancellationToken).ConfigureAwait(false))
            {
                frames.Add(frame);
            }

            return frames;
        }
        catch
        {
            foreach (VideoFrame f in frames)
            {
                f.Dispose();
            }

            throw;
        }
    }

    internal async IAsyncEnumerable<VideoFrame> ReadFramesAsync(
        VideoInfo info, string path, IReadOnlyList<int> frameIndices, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frameIndices);
        CheckIndices(info, frameIndices);
        if (frameIndices.Count == 0)
        {
            yield break;
        }

        if (info.IsGif)
        {
            foreach (VideoFrame frame in GifFrames.Read(path, info, frameIndices, cancellationToken))
            {
                yield return frame;
            }

            yield break;
        }

        string ffmpeg = FfmpegTools.ResolveFfmpeg(Options);
        int count = frameIndices.Count;
        int frameBytes = checked(info.Width * info.Height * 3);
        await using FfmpegProcess p = WarmDecoder.Start(ffmpeg, path, frameIndices, Options.KeepDecoderWarm);
        Track(p);
        using CancellationTokenRegistration kill = cancellationToken.Register(p.Kill);

        // A dedicated thread reads the pipe, up to ReadAhead frames ahead of the consumer: a frame is megabytes and the
        // pipe holds 64 KB, so a consumer that pre-processed each frame before reading the next would leave ffmpeg
        // blocked on its write, not decoding, for that time.
        var frames = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var slots = new SemaphoreSlim(ReadAhead);
        using var stopReading = new CancellationTokenSource();
        Task reading = Task.Factory.StartNew(
            () => ReadFrames(p.Output, frameBytes, count, frames.Writer, slots, stopReading.Token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        bool finished = false;
        try
        {
            for (int k = 0; k < count; k++)
            {
                byte[]? buffer = await frames.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false) && frames.Reader.TryRead(out byte[]? b) ? b : null;
                if (buffer is null)
                {
                    await reading.ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    int exit = await p.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                    throw new MagmaInputException(string.Create(
                        CultureInfo.InvariantCulture,
                        $"Video '{path}' could not be decoded: ffmpeg delivered {k} of {count} frames (exit code {exit}: {Clip(p.ErrorText)}). The file may be corrupt or truncated; re-encode it (ffmpeg -i in -c:v libx264 out.mp4)."));
                }

                slots.Release();
                double? pts = await p.NextTimestampAsync(cancellationToken).ConfigureAwait(false);
                int index = frameIndices[k];
                TimeSpan? time = pts is double t
                    ? TimeSpan.FromSeconds(Math.Max(0, t - info.StartSeconds))
                    : info.FramesPerSecond > 0 ? TimeSpan.FromSeconds(index / info.FramesPerSecond) : null;
                yield return new VideoFrame(RgbImage.FromPixels(info.Width, info.Height, buffer), index, time, buffer);
            }

            await reading.ConfigureAwait(false);
            await p.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            finished = true;
        }
        finally
        {
            if (!finished)
            {
                // An error, a cancellation or an abandoned enumeration: stop the reader (killing ffmpeg ends a blocked read).
                stopReading.Cancel();
                p.Kill();
                try
                {
                    await reading.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException)
                {
                    // The reader's own error is not the one to report.
                }
            }

            while (frames.Reader.TryRead(out byte[]? unread))
            {
                FrameBufferPool.Return(unread);
            }

            if (Options.KeepDecoderWarm)
            {
                // Now, not at the start: the spare's start-up would compete with this decode for the CPU.
                WarmDecoder.Replenish(ffmpeg);
            }
        }
    }

    // Decoded frames held between the pipe and the consumer: enough to keep ffmpeg busy while one is pre-processed.
    private const int ReadAhead = 3;

    /// <summary>Reads up to <paramref name="count"/> whole frames into pooled buffers; stops early at the end of the output.</summary>
    private static void ReadFrames(Stream output, int frameBytes, int count, ChannelWriter<byte[]> frames, SemaphoreSlim slots, CancellationToken stop)
    {
        try
        {
            for (int k = 0; k < count; k++)
            {
                slots.Wait(stop);
                byte[] buffer = FrameBufferPool.Rent(frameBytes);
                int read;
                try
                {
                    read = output.ReadAtLeast(buffer.AsSpan(0, frameBytes), frameBytes, throwOnEndOfStream: false);
                }
                catch
                {
                    FrameBufferPool.Return(buffer);
                    throw;
                }

                if (read < frameBytes)
                {
                    FrameBufferPool.Return(buffer);
                    return;
                }

                frames.TryWrite(buffer);
            }
        }
        finally
        {
            frames.TryComplete();
        }
    }

    internal static bool IsGif(string path)
    {
        Span<byte> head = stackalloc byte[6];
        try
        {
            using FileStream f = File.OpenRead(path);
            return f.ReadAtLeast(head, 6, throwOnEndOfStream: false) == 6 && (head.SequenceEqual("GIF89a"u8) || head.SequenceEqual("GIF87a"u8));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MagmaInputException($"Video file '{path}' could not be read ({e.Message}). Check the path and its permissions.", e);
        }
    }

    internal static VideoInfo ParseProbe(string json, string path)
    {
        JsonElement stream;
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new MagmaInputException($"Video '{path}': ffprobe's output could not be parsed ({e.Message}).", e);
        }

        using (doc)
        {
            if (!doc.RootElement.TryGetProperty("streams", out JsonElement streams) || streams.GetArrayLength() == 0)
            {
                throw new MagmaInputException($"Video '{path}' has no video stream. Pass a video file (MP4, WebM, MKV, GIF).");
            }

            stream = streams[0];
            int width = Int(stream, "width"), height = Int(stream, "height");
            int frames = Int(stream, "nb_read_packets");
            if (frames <= 0)
            {
                frames = Int(stream, "nb_frames");
            }

            double fps = Rate(stream, "avg_frame_rate");
            if (fps <= 0)
            {
                fps = Rate(stream, "r_frame_rate");
            }

            double duration = Number(stream, "duration");
            if (duration <= 0 && doc.RootElement.TryGetProperty("format", out JsonElement format))
            {
                duration = Number(format, "duration");
            }

            if (duration <= 0 && fps > 0)
            {
                duration = frames / fps;
            }

            if (width <= 0 || height <= 0 || frames <= 0)
            {
                throw new MagmaInputException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"Video '{path}' has an unusable video stream ({width}x{height}, {frames} frames). Pass a video with at least one decodable frame."));
            }

            return new VideoInfo(path, width, height, frames, fps, TimeSpan.FromSeconds(Math.Max(0, duration)))
            {
                StartSeconds = Math.Max(0, Number(stream, "start_time")),
            };
        }
    }

    /// <summary>
    /// The select filter's expression for the indices: runs of consecutive frames become <c>between(n,a,b)</c>,
    /// single frames <c>eq(n,a)</c>, summed. ffmpeg's expression parser recurses per term, so a thousand
    /// separate terms fail; sampled sets are at most a few hundred frames and usually far fewer.
    /// </summary>
    internal static string SelectExpression(IReadOnlyList<int> indices)
    {
        var terms = new List<string>();
        for (int i = 0; i < indices.Count;)
        {
            int j = i;
            while (j + 1 < indices.Count && indices[j + 1] == indices[j] + 1)
            {
                j++;
            }

            terms.Add(i == j
                ? string.Create(CultureInfo.InvariantCulture, $"eq(n,{indices[i]})")
                : string.Create(CultureInfo.InvariantCulture, $"between(n,{indices[i]},{indices[j]})"));
            i = j + 1;
        }

        return string.Join('+', terms);
    }

    private static void CheckIndices(VideoInfo info, IReadOnlyList<int> indices)
    {
        int previous = -1;
        foreach (int i in indices)
        {
            if (i <= previous)
            {
                throw new ArgumentException($"Frame indices must be strictly increasing; {i} follows {previous}.", nameof(indices));
            }

            if (i >= info.FrameCount)
            {
                throw new MagmaInputException($"Video '{info.Source}' has {info.FrameCount} frames (0..{info.FrameCount - 1}); frame {i} does not exist.");
            }

            previous = i;
        }
    }

    private void Track(FfmpegProcess p)
    {
        lock (_started)
        {
            // A long-lived reader (a plugin's) keeps only the recent ids.
            if (_started.Count == 64)
            {
                _started.RemoveAt(0);
            }

            _started.Add(p.Id);
        }
    }

    private static string Clip(string text) => text.Length == 0 ? "no message" : text.Length > 600 ? text[^600..] : text;

    private static int Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && (v.ValueKind == JsonValueKind.Number ? v.TryGetInt32(out int n) : int.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n)) ? n : 0;

    private static double Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String &&
        double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : 0;

    private static double Rate(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out JsonElement v) || v.GetString() is not { } s)
        {
            return 0;
        }

        int slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) ? r : 0;
        }

        return double.TryParse(s[..slash], NumberStyles.Float, CultureInfo.InvariantCulture, out double num) &&
               double.TryParse(s[(slash + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double den) && den > 0
            ? num / den
            : 0;
    }
}
