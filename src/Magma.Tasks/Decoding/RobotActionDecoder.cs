using System.Globalization;

namespace Magma.Tasks.Decoding;

/// <summary>How the rotation part (dimensions 3–5) of an action is handed to the environment.</summary>
public enum RotationOutput
{
    /// <summary>Roll, pitch, yaw as predicted (LIBERO).</summary>
    Euler,

    /// <summary>Axis·angle from transforms3d-style <c>euler2axangle</c> (SimplerEnv).</summary>
    AxisAngle,
}

/// <summary>
/// Turns the token ids Magma generated for an action prompt into a <see cref="RobotAction"/> (spec §6.3–6.7):
/// takes the 7 ids before the end-of-turn token, maps them to bin centres, un-normalises them and applies the
/// embodiment's post-processing. Malformed output gives an unparseable <see cref="DecodeResult{T}"/>, never an exception.
/// </summary>
/// <remarks>
/// Instances with a stateful gripper rule (Google robot) carry state between calls: use one decoder per
/// episode stream and call <see cref="Reset"/> when an episode starts. Not thread-safe.
/// </remarks>
public sealed class RobotActionDecoder
{
    /// <summary>The <c>&lt;|eot_id|&gt;</c> id Magma stops on.</summary>
    public const int EndOfTurnTokenId = 128009;

    /// <summary>The <c>&lt;|end_of_text|&gt;</c> id, accepted as a stop token too.</summary>
    public const int EndOfTextTokenId = 128001;

    private const int Dims = ActionStatistics.Dimensions;

    private readonly ActionTokenCodec _codec;
    private readonly ActionStatistics _statistics;
    private readonly IGripperRule _gripper;
    private readonly RotationOutput _rotation;
    private readonly double _actionScale;

    /// <summary>Creates a decoder.</summary>
    /// <param name="statistics">Un-normalisation statistics (from <see cref="DatasetStatistics"/> or a built-in).</param>
    /// <param name="gripper">The embodiment's gripper rule.</param>
    /// <param name="rotation">Whether to convert roll/pitch/yaw to axis·angle.</param>
    /// <param name="actionScale">Factor applied to the translation and rotation (SimplerEnv's action_scale); 1 for LIBERO.</param>
    /// <param name="codec">Token codec; defaults to V = 128000 and 256 bins.</param>
    public RobotActionDecoder(
        ActionStatistics statistics,
        IGripperRule gripper,
        RotationOutput rotation = RotationOutput.Euler,
        double actionScale = 1.0,
        ActionTokenCodec? codec = null)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        ArgumentNullException.ThrowIfNull(gripper);
        if (!double.IsFinite(actionScale))
        {
            throw new ArgumentOutOfRangeException(nameof(actionScale), actionScale, "The action scale must be a finite number.");
        }

        _statistics = statistics;
        _gripper = gripper;
        _rotation = rotation;
        _actionScale = actionScale;
        _codec = codec ?? new ActionTokenCodec();
    }

    /// <summary>LIBERO decoding: the checkpoint's statistics (key <c>&lt;suite&gt;_no_noops</c>) and <see cref="LiberoGripper"/>.</summary>
    public static RobotActionDecoder ForLibero(ActionStatistics statistics, ActionTokenCodec? codec = null) =>
        new(statistics, new LiberoGripper(), RotationOutput.Euler, 1.0, codec);

    /// <summary>SimplerEnv WidowX decoding: <see cref="ActionStatistics.BridgeOrig"/>, axis·angle, <see cref="BridgeGripper"/>.</summary>
    public static RobotActionDecoder ForBridge(double actionScale = 1.0, ActionTokenCodec? codec = null) =>
        new(ActionStatistics.BridgeOrig, new BridgeGripper(), RotationOutput.AxisAngle, actionScale, codec);

    /// <summary>SimplerEnv Google-robot decoding: <see cref="ActionStatistics.GoogleRobot"/>, axis·angle, sticky <see cref="GoogleRobotGripper"/>.</summary>
    public static RobotActionDecoder ForGoogleRobot(double actionScale = 1.0, int stickyRepeats = 10, ActionTokenCodec? codec = null) =>
        new(ActionStatistics.GoogleRobot, new GoogleRobotGripper(stickyRepeats), RotationOutput.AxisAngle, actionScale, codec);

    /// <summary>The codec used to map ids to values.</summary>
    public ActionTokenCodec Codec => _codec;

    /// <summary>Clears state carried between steps (the sticky gripper); call when an episode starts.</summary>
    public void Reset() => _gripper.Reset();

    /// <summary>
    /// Decodes the generated continuation (prompt excluded). It must end with 7 action tokens, optionally followed
    /// by a stop token (<c>&lt;|eot_id|&gt;</c> or <c>&lt;|end_of_text|&gt;</c>); tokens before the 7 are ignored unless
    /// they are action tokens too (then the count is wrong and the result is unparseable).
    /// </summary>
    /// <remarks>The gripper rule's state only advances when decoding succeeds.</remarks>
    public DecodeResult<RobotAction> Decode(ReadOnlySpan<int> generatedIds)
    {
        bool hasStop = generatedIds.Length > 0 &&
            (generatedIds[^1] == EndOfTurnTokenId || generatedIds[^1] == EndOfTextTokenId);
        ReadOnlySpan<int> body = hasStop ? generatedIds[..^1] : generatedIds;
        string where = !hasStop ? "at the end of the output (no <|eot_id|>)"
            : generatedIds[^1] == EndOfTurnTokenId ? "before <|eot_id|>" : "before <|end_of_text|>";

        int run = 0;
        while (run < body.Length && _codec.IsActionToken(body[body.Length - 1 - run]))
        {
            run++;
        }

        if (run > Dims)
        {
            return Fail($"expected {Dims} action tokens {where}, got {run}", generatedIds);
        }

        if (run < Dims)
        {
            // A stray id between action tokens is worth naming; a short run after ordinary text is a count problem.
            int window = Math.Min(Dims, body.Length);
            int position = window - 1 - run;
            bool actionBefore = false;
            for (int k = 0; k < position; k++)
            {
                actionBefore |= _codec.IsActionToken(body[body.Length - window + k]);
            }

            if (actionBefore)
            {
                int bad = body[body.Length - window + position];
                return Fail(
                    $"id {bad} at position {position} is not an action token (valid {_codec.FirstActionId}..{_codec.LastActionId})",
                    generatedIds);
            }

            return Fail($"expected {Dims} action tokens {where}, got {run}", generatedIds);
        }

        ReadOnlySpan<int> ids = body[^Dims..];
        var normalized = new double[Dims];
        var unnormalized = new double[Dims];
        var command = new double[Dims];
        for (int i = 0; i < Dims; i++)
        {
            normalized[i] = _codec.ToNormalized(ids[i]);
        }

        _statistics.Unnormalize(normalized, unnormalized);
        for (int i = 0; i < Dims; i++)
        {
            if (!double.IsFinite(unnormalized[i]))
            {
                return Fail($"dimension {i} is not finite after un-normalisation ({unnormalized[i]})", generatedIds);
            }
        }

        for (int i = 0; i < 3; i++)
        {
            command[i] = unnormalized[i] * _actionScale;
        }

        if (_rotation == RotationOutput.AxisAngle)
        {
            (double x, double y, double z, double angle) =
                RotationConversion.EulerToAxisAngle(unnormalized[3], unnormalized[4], unnormalized[5]);
            command[3] = x * angle * _actionScale;
            command[4] = y * angle * _actionScale;
            command[5] = z * angle * _actionScale;
        }
        else
        {
            for (int i = 3; i < 6; i++)
            {
                command[i] = unnormalized[i] * _actionScale;
            }
        }

        command[6] = _gripper.Apply(unnormalized[6]);
        for (int i = 0; i < Dims; i++)
        {
            if (!double.IsFinite(command[i]))
            {
                return Fail($"dimension {i} of the command is not finite ({command[i]})", generatedIds);
            }
        }

        return DecodeResult.Success(new RobotAction(ids.ToArray(), normalized, unnormalized, command), FormatIds(generatedIds));
    }

    private static DecodeResult<RobotAction> Fail(string reason, ReadOnlySpan<int> ids) =>
        DecodeResult.Failure<RobotAction>(reason, FormatIds(ids));

    private static string FormatIds(ReadOnlySpan<int> ids)
    {
        // Only the tail matters for diagnosis; a 1000-token runaway generation is shortened.
        const int keep = 32;
        var sb = new System.Text.StringBuilder("[");
        int start = Math.Max(0, ids.Length - keep);
        if (start > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"… {start} earlier ids, ");
        }

        for (int i = start; i < ids.Length; i++)
        {
            if (i > start)
            {
                sb.Append(", ");
            }

            sb.Append(ids[i].ToString(CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }
}
