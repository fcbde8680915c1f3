namespace Magma.Inference;

/// <summary>How <see cref="MagmaModelOptions.PrefillBuckets"/> shapes a prompt's prefill.</summary>
public enum PrefillBucketing
{
    /// <summary>Every prompt at its own length: one decoder run, but each new length pays its shape's first-run cost.</summary>
    Off,

    /// <summary>
    /// A prompt length's first request is padded to a warmed-up width (plus one decode step for its last position); a
    /// length that comes again runs exactly from then on (it pays its first-run cost once, then skips the extra step):
    /// new lengths (agents) get the warm width, repeated ones (a robot's fixed prompt) the exact prefill.
    /// </summary>
    NewLengths,

    /// <summary>Every prompt padded to a warmed-up width (benchmarks, tests).</summary>
    Always,
}
