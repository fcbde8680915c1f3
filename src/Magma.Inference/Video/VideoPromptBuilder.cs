using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

namespace Magma.Inference.Video;

/// <summary>
/// Builds a request from turns whose parts are text, images and videos: budgets the frames against the context,
/// samples and decodes them, and writes one image placeholder per frame (texts stay plain text). Parts of a turn are joined by newlines and a
/// video is its frames' placeholders joined by newlines, so <c>[video, question]</c> renders as lmms-eval's
/// <c>"&lt;image&gt;\n" × N + question</c>.
/// </summary>
internal static class VideoPromptBuilder
{
    /// <summary>
    /// A turn whose video files are opened: its role and parts (<see cref="string"/>, <see cref="RgbImage"/>,
    /// <see cref="EncodedImage"/> or <see cref="VideoClip"/>), what the budget search renders with each candidate frame count.
    /// </summary>
    internal sealed record ResolvedTurn(ChatRole Role, IReadOnlyList<object> Parts);

    public static async Task<VideoRequest> BuildAsync(
        MagmaModel model, IReadOnlyList<ResolvedTurn> turns, VideoSampling sampling, GenerationOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        sampling.Validate();
        VideoClip[] clips = [.. turns.SelectMany(t => t.Parts).OfType<VideoClip>()];
        int[] available = [.. clips.Select(c => c.Available(sampling))];
        bool exact = sampling.FrameCount is not null || sampling.FramesPerSecond is not null;
        int target = sampling.FramesPerSecond is not null ? available.DefaultIfEmpty(0).Max()
            : Math.Min(sampling.FrameCount ?? sampling.MaxFrames, available.DefaultIfEmpty(0).Max());
        ChatContent placeholder = MagmaPrompts.Image(model.UseImageStartEnd);
        ImagePreprocessor pre = model.Engine.Preprocessor;
        int g = model.Package.Manifest.Vision.FeatureGrid;
        int imageId = model.Package.Manifest.Tokens.Image;
        EncodedImage[] encoded = [.. turns.SelectMany(t => t.Parts).OfType<EncodedImage>()];
        // Still images by size alone: encoded ones are decoded only after the whole request fits.
        int otherImageTokens = turns.SelectMany(t => t.Parts).Sum(p => p switch
        {
            RgbImage i => EmbeddingMerger.ImageTokenCount(pre.SelectGrid(i.Width, i.Height), g),
            EncodedImage i => EmbeddingMerger.ImageTokenCount(pre.SelectGrid(i.Width, i.Height), g),
            _ => 0,
        });

        // A rate fixes each video's count (target = the largest); the search below still varies n, so an over-budget
        // rate is answered with the count that would fit.
        int FramesOf(int clip, int n) => Math.Min(n, available[clip]);

        List<ChatTurn> Render(int n)
        {
            int clip = 0;
            var result = new List<ChatTurn>(turns.Count);
            foreach (ResolvedTurn t in turns)
            {
                var parts = new List<ChatContent>(t.Parts.Count);
                foreach (object part in t.Parts)
                {
                    switch (part)
                    {
                        case string s:
                            parts.Add(ChatContent.Text(s));
                            break;
                        case RgbImage or EncodedImage:
                            parts.Add(placeholder);
                            break;
                        case VideoClip:
                            int frames = FramesOf(clip++, n);
                            if (frames > 0)
                            {
                                parts.Add(ChatContent.Join("\n", Enumerable.Repeat(placeholder, frames)));
                            }

                            break;
                        default:
                            throw new ArgumentException($"Unsupported part {part.GetType().Name}.", nameof(turns));
                    }
                }

                result.Add(new ChatTurn(t.Role, ChatContent.Join("\n", parts)));
            }

            return result;
        }

        int Positions(int n, int crops)
        {
            int[] ids = model.Engine.Tokenize(Render(n));
            int placeholders = ids.Count(id => id == imageId);
            var shaper = new FrameShaper(pre, crops);
            int frameTokens = 0;
            for (int c = 0; c < clips.Length; c++)
            {
                frameTokens += FramesOf(c, n) * EmbeddingMerger.ImageTokenCount(shaper.GridFor(clips[c].Info.Width, clips[c].Info.Height), g);
            }

            return ids.Length - placeholders + otherImageTokens + frameTokens;
        }

        int context = model.ContextLength;
        int reserve = options.MaxNewTokens;
        int maxCrops = Math.Clamp(sampling.MaxCropsPerFrame, 1, pre.Config.NumCrops);
        int chosenCrops = 0, positions = 0;
        for (int c = maxCrops; c >= 1 && chosenCrops == 0; c--)
        {
            positions = Positions(target, c);
            if (positions + reserve <= context)
            {
                chosenCrops = c;
            }
        }

        int frames = target;
        if (chosenCrops == 0)
        {
            // Largest count that fits at one crop per frame (positions grow with the count).
            int lo = 0, hi = target - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) / 2;
                if (Positions(mid, 1) + reserve <= context)
                {
                    lo = mid;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            int fit = lo >= 1 && Positions(lo, 1) + reserve <= context ? lo : 0;
            if (exact || fit == 0)
            {
                string what = clips.Length == 1 ? $"Video '{clips[0].Info.Source}'" : $"{clips.Length} videos";
                string advice = fit == 0
                    ? "No frame fits: shorten the prompt, lower the max output tokens or load the model with a longer MaxSequenceLength."
                    : $"{fit} frames per video would fit: ask for at most {fit} (VideoSampling.FrameCount), sample at a lower rate or a shorter range, or lower the max output tokens.";
                throw new MagmaInputException(
                    $"{what}: {target} frames per video at 1 crop per frame make a prompt of {positions} positions; with {reserve} reserved for the answer (max new tokens) that is over the model's context length of {context}. {advice}");
            }

            frames = fit;
            chosenCrops = 1;
            positions = Positions(frames, 1);
        }

        int[] counts = [.. clips.Select((_, i) => FramesOf(i, frames))];
        // Frames arrive from ffmpeg at the video's size and are held until the request is done.
        long framePixels = clips.Select((c, i) => c.Decodes ? (long)counts[i] * c.Info.Width * c.Info.Height : 0).Sum();
        model.CheckDecodedPixels(encoded, framePixels);
        // Report the crops the frames really get: a limit of 3 gives a 16:9 frame the same 1x2 grid as a limit of 2.
        int crops = clips.Length == 0 ? chosenCrops : new FrameShaper(pre, chosenCrops).GridFor(clips[^1].Info.Width, clips[^1].Info.Height).CropCount;
        var plan = new VideoPlan(counts.Length == 0 ? 0 : counts[^1], crops, positions, reserve, context);
        return await ReadAndAssembleAsync(model, turns, sampling, counts, chosenCrops, Render(frames), plan, options, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<VideoRequest> ReadAndAssembleAsync(
        MagmaModel model, IReadOnlyList<ResolvedTurn> turns, VideoSampling sampling, int[] counts, int crops, List<ChatTurn> rendered, VideoPlan plan, GenerationOptions options, CancellationToken cancellationToken)
    {
        var shaper = new FrameShaper(model.Engine.Preprocessor, crops);
        var owned = new List<VideoFrame>();
        var pooled = new List<byte[]>();
        var images = new List<RgbImage>();
        int clipIndex = 0;
        try
        {
            foreach (object part in turns.SelectMany(t => t.Parts))
            {
                switch (part)
                {
                    case RgbImage image:
                        images.Add(image);
                        break;
                    case EncodedImage image:
                        images.Add(image.Decode());
                        break;
                    case VideoClip clip:
                        int n = counts[clipIndex++];
                        if (n == 0)
                        {
                            break;
                        }

                        int[] indices = FrameSampler.Select(clip.Info, sampling, n);
                        // Each frame is shaped as it arrives, while ffmpeg decodes the next ones.
                        await foreach (VideoFrame f in clip.ReadAsync(indices, cancellationToken).ConfigureAwait(false))
                        {
                            owned.Add(f);
                            images.Add(shaper.Shape(f.Image, out byte[]? buffer));
                            if (buffer is not null)
                            {
                                pooled.Add(buffer);
                            }
                        }

                        break;
                }
            }

            var request = new MagmaRequest { Images = images, Turns = rendered, Options = options };
            return new VideoRequest(request, owned, plan, pooled);
        }
        catch
        {
            owned.ForEach(f => f.Dispose());
            pooled.ForEach(FrameBufferPool.Return);
            throw;
        }
    }
}
