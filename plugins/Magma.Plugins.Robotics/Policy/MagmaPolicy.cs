using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Plugins.Robotics.Libero;
using Magma.Tasks;
using Magma.Tasks.Decoding;

namespace Magma.Plugins.Robotics.Policy;

/// <summary>
/// Magma as a LIBERO policy (spec §6): the reference-transformed agent view (180° rotation, JPEG round-trip), the
/// LIBERO action prompt, seven constrained action tokens, bins, <c>dataset_statistics.json</c> un-normalisation for
/// the suite and the LIBERO gripper rule. Every action is range-checked. Thread-safe to share the model; use one
/// policy per environment (the decoder keeps per-episode state).
/// </summary>
public sealed class MagmaPolicy : IRobotPolicy
{
    private readonly MagmaModel _model;
    private readonly RobotActionDecoder _decoder;
    private readonly MagmaPolicyOptions _options;
    private int _request;

    /// <summary>Creates the policy with an explicit decoder (statistics and gripper rule).</summary>
    public MagmaPolicy(MagmaModel model, RobotActionDecoder decoder, MagmaPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(decoder);
        _model = model;
        _decoder = decoder;
        _options = options ?? new MagmaPolicyOptions();
    }

    /// <summary>
    /// Creates the policy for a LIBERO suite: statistics key <c>&lt;suite&gt;_no_noops</c> from the package's
    /// <c>dataset_statistics.json</c>, LIBERO gripper rule.
    /// </summary>
    /// <exception cref="MagmaPackageException">The package has no statistics file, or none for this suite.</exception>
    public static MagmaPolicy ForSuite(MagmaModel model, string suite, MagmaPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(suite);
        string path = model.Package.DatasetStatisticsPath ?? throw new MagmaPackageException(
            $"{Path.Combine(model.Package.Directory, "dataset_statistics.json")}: not found. LIBERO actions are un-normalised with the " +
            $"statistics of the LIBERO fine-tuned checkpoint the package was exported from (key '{LiberoProtocol.StatisticsKey(suite)}'); " +
            "export such a checkpoint with tools/export/export_magma.py, which copies its dataset_statistics.json (the base Magma-8B has none).");
        ActionStatistics statistics = DatasetStatistics.Load(path).For(LiberoProtocol.StatisticsKey(suite));
        return new MagmaPolicy(model, RobotActionDecoder.ForLibero(statistics), options);
    }

    /// <inheritdoc />
    public ValueTask ResetAsync(string instruction, CancellationToken cancellationToken = default)
    {
        _decoder.Reset();
        _request = 0;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidRobotActionException">The output did not decode, or decoded outside the action space.</exception>
    public async Task<PolicyDecision> ActAsync(LiberoObservation observation, string instruction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(observation);
        ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        string task = _options.LowerCaseInstruction ? instruction.Trim().ToLowerInvariant() : instruction.Trim();
        DecodeResult<RobotAction> result = await _model
            .PredictActionAsync(observation.ModelFrame, task, _decoder, RequestOptions(_request++), cancellationToken)
            .ConfigureAwait(false);
        RobotAction action = result.Value ?? throw new InvalidRobotActionException(
            $"Magma's output is not a robot action: {result.FailureReason} (ids {result.RawText}).");
        double[] command = [.. action.Command];
        _options.ActionSpace.Validate(command);
        return new PolicyDecision(command, action);
    }

    /// <summary>The sampler seed of request <paramref name="request"/> of an episode: SplitMix64 of the base seed and the index.</summary>
    internal static ulong RequestSeed(ulong seed, int request)
    {
        ulong z = seed + (0x9E3779B97F4A7C15UL * (ulong)(request + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private GenerationOptions RequestOptions(int request)
    {
        GenerationOptions g = _options.Generation;
        if (_options.Seed is not ulong seed || !g.DoSample)
        {
            return g;
        }

        return g with { Seed = RequestSeed(seed, request) };
    }
}
