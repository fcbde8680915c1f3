namespace Magma.Tasks.Decoding;

/// <summary>
/// Per-dimension action statistics used to un-normalise actions with OpenVLA's BOUNDS_Q99 rule (spec §6.5):
/// raw = 0.5·(normalised + 1)·(q99 − q01) + q01 where the mask is set, raw = normalised elsewhere.
/// </summary>
public sealed class ActionStatistics
{
    /// <summary>Number of action dimensions Magma predicts (xyz, roll/pitch/yaw, gripper).</summary>
    public const int Dimensions = 7;

    private readonly double[] _q01;
    private readonly double[] _q99;
    private readonly bool[] _mask;

    /// <summary>Creates statistics from 7 lower quantiles, 7 upper quantiles and an optional 7-entry mask.</summary>
    /// <param name="q01">1st-percentile values, one per dimension.</param>
    /// <param name="q99">99th-percentile values, one per dimension.</param>
    /// <param name="mask">Which dimensions are un-normalised; <see langword="null"/> means all (the reference default).</param>
    /// <exception cref="ArgumentException">A list does not have 7 finite values, or q01 &gt; q99 on a masked dimension.</exception>
    public ActionStatistics(IReadOnlyList<double> q01, IReadOnlyList<double> q99, IReadOnlyList<bool>? mask = null)
    {
        ArgumentNullException.ThrowIfNull(q01);
        ArgumentNullException.ThrowIfNull(q99);
        string? problem = Validate(q01, q99, mask);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(q01));
        }

        _q01 = [.. q01];
        _q99 = [.. q99];
        _mask = mask is null ? [true, true, true, true, true, true, true] : [.. mask];
    }

    /// <summary>1st-percentile values, one per dimension.</summary>
    public IReadOnlyList<double> Q01 => _q01;

    /// <summary>99th-percentile values, one per dimension.</summary>
    public IReadOnlyList<double> Q99 => _q99;

    /// <summary>Which dimensions are un-normalised (OpenVLA leaves the gripper, the 7th, untouched).</summary>
    public IReadOnlyList<bool> Mask => _mask;

    /// <summary>
    /// SimplerEnv's hard-coded <c>bridge_orig</c> statistics (policy <c>widowx_bridge</c>), spec §6.7.
    /// </summary>
    public static ActionStatistics BridgeOrig { get; } = new(
        [-0.02872725307941437, -0.04170349963009357, -0.026093858778476715, -0.08092105075716972,
         -0.09288699507713317, -0.20718276381492615, 0.0],
        [0.028309678435325586, 0.040855254605412394, 0.040161586627364146, 0.08192047759890528,
         0.07792850524187081, 0.20382574498653397, 1.0],
        [true, true, true, true, true, true, false]);

    /// <summary>SimplerEnv's hard-coded <c>google_robot</c> statistics, spec §6.7.</summary>
    public static ActionStatistics GoogleRobot { get; } = new(
        [-0.22453527510166169, -0.14820013284683228, -0.231589707583189, -0.3517994859814644,
         -0.4193011274933815, -0.43643461108207704, 0.0],
        [0.17824687153100965, 0.14938379630446405, 0.21842354819178575, 0.5892666035890578,
         0.35272657424211445, 0.44796681255102094, 1.0],
        [true, true, true, true, true, true, false]);

    /// <summary>
    /// Applies BOUNDS_Q99 un-normalisation to 7 normalised values, writing 7 raw values.
    /// </summary>
    /// <exception cref="ArgumentException">Either span does not hold exactly 7 values.</exception>
    public void Unnormalize(ReadOnlySpan<double> normalized, Span<double> raw)
    {
        if (normalized.Length != Dimensions || raw.Length != Dimensions)
        {
            throw new ArgumentException($"Un-normalisation works on exactly {Dimensions} values; got {normalized.Length} in and {raw.Length} out.", nameof(normalized));
        }

        for (int i = 0; i < Dimensions; i++)
        {
            raw[i] = _mask[i]
                ? (0.5 * (normalized[i] + 1) * (_q99[i] - _q01[i])) + _q01[i]
                : normalized[i];
        }
    }

    /// <summary>Returns a description of what is wrong, or null; field names match dataset_statistics.json.</summary>
    internal static string? Validate(IReadOnlyList<double> q01, IReadOnlyList<double> q99, IReadOnlyList<bool>? mask)
    {
        if (q01.Count != Dimensions)
        {
            return $"q01 has {q01.Count} values; expected {Dimensions}";
        }

        if (q99.Count != Dimensions)
        {
            return $"q99 has {q99.Count} values; expected {Dimensions}";
        }

        if (mask is not null && mask.Count != Dimensions)
        {
            return $"mask has {mask.Count} values; expected {Dimensions}";
        }

        for (int i = 0; i < Dimensions; i++)
        {
            if (!double.IsFinite(q01[i]))
            {
                return $"q01[{i}] is not a finite number";
            }

            if (!double.IsFinite(q99[i]))
            {
                return $"q99[{i}] is not a finite number";
            }

            bool masked = mask?[i] ?? true;
            if (masked && q01[i] > q99[i])
            {
                return $"q01[{i}] = {q01[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture)} is greater than q99[{i}] = {q99[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
            }
        }

        return null;
    }
}
