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
        var budget = new FrameBudget(model, turns, sampling);
        int context = model.ContextLength;
        int reserve = options.MaxNewTokens;
        int maxCrops = Math.Clamp(sampling.MaxCropsPerFrame, 1, model.Engine.Preprocessor.Config.NumCrops);
        int chosenCrops = MostCropsThatFit(budget, maxCrops, reserve, context, out int positions);
        int frames = budget.Target;
        if (chosenCrops == 0)
        {
            int fit = MostFramesThatFit(budget, reserve, context);
            if (budget.Exact || fit == 0)
            {
                throw OverContext(budget, fit, positions, reserve, context);
            }

            frames = fit;
            chosenCrops = 1;
            positions = budget.Positions(frames, 1);
        }

        int[] counts = [.. budget.Clips.Select((_, i) => budget.FramesOf(i, frames))];
        model.CheckDecodedPixels(budget.Encoded, budget.DecodedFramePixels(counts));
        var plan = new VideoPlan(counts.Length == 0 ? 0 : counts[^1], budget.CropsOfLastClip(chosenCrops), positions, reserve, context);
        return await ReadAndAssembleAsync(model, turns, sampling, counts, chosenCrops, budget.Render(turns, frames), plan, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The most crops per frame, from <paramref name="maxCrops"/> down, at which the target frame count fits; 0 when
    /// none does. <paramref name="positions"/> is the prompt length of the last count tried.
    /// </summary>
    private static int MostCropsThatFit(FrameBudget budget, int maxCrops, int reserve, int context, out int positions)
    {
        positions = 0;
        for (int c = maxCrops; c >= 1; c--)
        {
            positions = budget.Positions(budget.Target, c);
            if (positions + reserve <= context)
            {
                return c;
            }
        }

        return 0;
    }

    /// <summary>The largest frame count that fits at one crop per frame (positions grow with the count); 0 when none does.</summary>
    private static int MostFramesThatFit(FrameBudget budget, int reserve, int context)
    {
        int lo = 0, hi = budget.Target - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (budget.Positions(mid, 1) + reserve <= context)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo >= 1 && budget.Positions(lo, 1) + reserve <= context ? lo : 0;
    }

    private static MagmaInputException OverContext(FrameBudget budget, int fit, int positions, int reserve, int context)
    {
        VideoClip[] clips = budget.Clips;
        string what = clips.Length == 1 ? $"Video '{clips[0].Info.Source}'" : $"{clips.Length} videos";
        string advice = fit == 0
            ? "No frame fits: shorten the prompt, lower the max output tokens or load the model with a longer MaxSequenceLength."
            : $"{fit} frames per video would fit: ask for at most {fit} (VideoSampling.FrameCount), sample at a lower rate or a shorter range, or lower the max output tokens.";
        return new MagmaInputException(
            $"{what}: {budget.Target} frames per video at 1 crop per frame make a prompt of {positions} positions; with {reserve} reserved for the answer (max new tokens) that is over the model's context length of {context}. {advice}");
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

    /// <summary>
    /// One request's frame budget: renders the turns with a given frame count and measures the prompt's positions for
    /// a count and a crop limit, which the search in <see cref="BuildAsync"/> compares with the context.
    /// </summary>
    private sealed class FrameBudget
    {
        private readonly MagmaModel _model;
        private readonly IReadOnlyList<ResolvedTurn> _turns;
        private readonly int[] _available;
        private readonly ChatContent _placeholder;
        private readonly ImagePreprocessor _pre;
        private readonly int _grid;
        private readonly int _imageId;
        private readonly int _otherImageTokens;

        public FrameBudget(MagmaModel model, IReadOnlyList<ResolvedTurn> turns, VideoSampling sampling)
        {
            _model = model;
            _turns = turns;
            Clips = [.. turns.SelectMany(t => t.Parts).OfType<VideoClip>()];
            _available = [.. Clips.Select(c => c.Available(sampling))];
            Exact = sampling.FrameCount is not null || sampling.FramesPerSecond is not null;
            Target = sampling.FramesPerSecond is not null ? _available.DefaultIfEmpty(0).Max()
                : Math.Min(sampling.FrameCount ?? sampling.MaxFrames, _available.DefaultIfEmpty(0).Max());
            _placeholder = MagmaPrompts.Image(model.UseImageStartEnd);
            _pre = model.Engine.Preprocessor;
            _grid = model.Package.Manifest.Vision.FeatureGrid;
            _imageId = model.Package.Manifest.Tokens.Image;
            Encoded = [.. turns.SelectMany(t => t.Parts).OfType<EncodedImage>()];
            // Still images by size alone: encoded ones are decoded only after the whole request fits.
            _otherImageTokens = turns.SelectMany(t => t.Parts).Sum(p => p switch
            {
                RgbImage i => EmbeddingMerger.ImageTokenCount(_pre.SelectGrid(i.Width, i.Height), _grid),
                EncodedImage i => EmbeddingMerger.ImageTokenCount(_pre.SelectGrid(i.Width, i.Height), _grid),
                _ => 0,
            });
        }

        public VideoClip[] Clips { get; }

        public EncodedImage[] Encoded { get; }

        /// <summary>Whether the caller fixed the count or the rate, so a smaller count that fits is an error, not a fallback.</summary>
        public bool Exact { get; }

        /// <summary>Frames per video asked for (a rate's is the largest video's count).</summary>
        public int Target { get; }

        // A rate fixes each video's count (target = the largest); the search still varies n, so an over-budget
        // rate is answered with the count that would fit.
        public int FramesOf(int clip, int n) => Math.Min(n, _available[clip]);

        // Takes the turns (always this budget's) so an unsupported part is reported against BuildAsync's parameter.
        public List<ChatTurn> Render(IReadOnlyList<ResolvedTurn> turns, int n)
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
                            parts.Add(_placeholder);
                            break;
                        case VideoClip:
                            int frames = FramesOf(clip++, n);
                            if (frames > 0)
                            {
                                parts.Add(ChatContent.Join("\n", Enumerable.Repeat(_placeholder, frames)));
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

        public int Positions(int n, int crops)
        {
            int[] ids = _model.Engine.Tokenize(Render(_turns, n));
            int placeholders = ids.Count(id => id == _imageId);
            var shaper = new FrameShaper(_pre, crops);
            int frameTokens = 0;
            for (int c = 0; c < Clips.Length; c++)
            {
                frameTokens += FramesOf(c, n) * EmbeddingMerger.ImageTokenCount(shaper.GridFor(Clips[c].Info.Width, Clips[c].Info.Height), _grid);
            }

            return ids.Length - placeholders + _otherImageTokens + frameTokens;
        }

        // Frames arrive from ffmpeg at the video's size and are held until the request is done.
        public long DecodedFramePixels(int[] counts) =>
            Clips.Select((c, i) => c.Decodes ? (long)counts[i] * c.Info.Width * c.Info.Height : 0).Sum();

        // Report the crops the frames really get: a limit of 3 gives a 16:9 frame the same 1x2 grid as a limit of 2.
        public int CropsOfLastClip(int cropLimit) =>
            Clips.Length == 0 ? cropLimit : new FrameShaper(_pre, cropLimit).GridFor(Clips[^1].Info.Width, Clips[^1].Info.Height).CropCount;
    }
}
