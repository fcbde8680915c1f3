using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class RobotActionDecoderTests
{
    private const int Eos = 128009;

    private static ActionStatistics GoalStats =>
        DatasetStatistics.Load(Path.Combine(AppContext.BaseDirectory, "assets", "decoding", "dataset_statistics.json"))
            .For("libero_goal_no_noops");

    [Fact]
    public void Libero_worked_example_by_hand()
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForLibero(GoalStats);

        // x: id 127999 -> -0.996078..., y: 127872 -> 0, z: 127744 -> +0.996078..., rotations at 0, gripper 127745 (open).
        DecodeResult<RobotAction> result = decoder.Decode([271, 127999, 127872, 127744, 127872, 127872, 127872, 127745, Eos]);

        Assert.True(result.IsSuccess, result.FailureReason);
        RobotAction a = result.Value;
        Assert.Equal([127999, 127872, 127744, 127872, 127872, 127872, 127745], a.TokenIds);
        Assert.Equal(-0.996078431372549, a.Normalized[0]);
        Assert.Equal(0.0, a.Normalized[1]);
        Assert.Equal(0.996078431372549, a.Normalized[2]);

        // raw = 0.5 (n + 1)(q99 - q01) + q01 with q01 = -0.75, q99 = 0.75: n = -255/255 + 1/255 -> -0.75 + 1.5/510.
        Assert.Equal(-0.75 + (1.5 / 510), a.Unnormalized[0], 15);
        Assert.Equal(0.0, a.Unnormalized[1], 15);
        Assert.Equal(0.9 - (1.8 / 510), a.Unnormalized[2], 15);
        // Gripper is masked: un-normalisation leaves it alone.
        Assert.Equal(0.996078431372549, a.Unnormalized[6]);

        // LIBERO command: first 6 unchanged, gripper open (> 0.5) -> -1.
        Assert.Equal(a.Unnormalized.Take(6), a.Command.Take(6));
        Assert.Equal(-1.0, a.Command[6]);
    }

    [Theory]
    [InlineData(127745, -1.0)] // +0.996 -> open
    [InlineData(127808, -1.0)] // +0.502 -> open
    [InlineData(127809, 1.0)]  // +0.494 -> close
    [InlineData(127872, 1.0)]  // 0.0 -> close
    [InlineData(127999, 1.0)]  // -0.996 -> close
    public void Libero_gripper_truth_table(int gripperId, double expected)
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForLibero(GoalStats);
        DecodeResult<RobotAction> result = decoder.Decode([127872, 127872, 127872, 127872, 127872, 127872, gripperId, Eos]);
        Assert.True(result.IsSuccess, result.FailureReason);
        Assert.Equal(expected, result.Value.Command[6]);
    }

    [Fact]
    public void Libero_gripper_rule_on_plain_values()
    {
        var rule = new LiberoGripper();
        Assert.Equal(-1.0, rule.Apply(1.0));
        Assert.Equal(1.0, rule.Apply(0.0));
        // Exactly 0.5 gives sign(0) = 0: the reason unmasked statistics are a trap (spec §6.6).
        Assert.Equal(0.0, rule.Apply(0.5));
    }

    [Fact]
    public void Bridge_worked_example_matches_reference_arithmetic()
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForBridge();
        DecodeResult<RobotAction> result = decoder.Decode([127872, 127999, 127744, 127800, 127900, 127850, 127745, Eos]);
        Assert.True(result.IsSuccess, result.FailureReason);
        RobotAction a = result.Value;

        // float64 values of the reference formula with the bridge_orig statistics.
        double[] expectedRaw =
        [
            -0.00020878732204438963, -0.04154161971982787, 0.04003167398931348, 0.04647849789787721,
            -0.02623545671736495, 0.033781048207890685, 0.996078431372549,
        ];
        for (int i = 0; i < 7; i++)
        {
            Assert.Equal(expectedRaw[i], a.Unnormalized[i], 15);
        }

        // By hand for x: 0.5 * (0 + 1) * (q99 - q01) + q01.
        Assert.Equal(0.5 * (0.028309678435325586 - -0.02872725307941437) + -0.02872725307941437, a.Unnormalized[0], 15);

        Assert.Equal(expectedRaw[0], a.Command[0], 15);
        Assert.Equal(0.046914542911049524, a.Command[3], 14);
        Assert.Equal(-0.02544328129343551, a.Command[4], 14);
        Assert.Equal(0.03438272229152319, a.Command[5], 14);
        Assert.Equal(1.0, a.Command[6]); // 0.996 > 0.5 -> +1
    }

    [Fact]
    public void Bridge_gripper_and_action_scale()
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForBridge(actionScale: 2.0);
        DecodeResult<RobotAction> result = decoder.Decode([127872, 127872, 127872, 127872, 127872, 127872, 127999, Eos]);
        Assert.True(result.IsSuccess, result.FailureReason);
        Assert.Equal(2 * result.Value.Unnormalized[0], result.Value.Command[0], 15);
        Assert.Equal(-1.0, result.Value.Command[6]);
        Assert.Equal(1.0, new BridgeGripper().Apply(0.51));
        Assert.Equal(-1.0, new BridgeGripper().Apply(0.5));
    }

    [Theory]
    [InlineData(0.3, -0.2, 0.5)]
    [InlineData(-0.08, 0.07, -0.2)]
    [InlineData(1.2, 0.9, -2.5)]
    public void Euler_to_axis_angle_reproduces_rz_ry_rx(double roll, double pitch, double yaw)
    {
        (double x, double y, double z, double angle) = RotationConversion.EulerToAxisAngle(roll, pitch, yaw);
        Assert.Equal(1.0, Math.Sqrt((x * x) + (y * y) + (z * z)), 12);

        double[,] expected = Multiply(Multiply(Rz(yaw), Ry(pitch)), Rx(roll));
        double[,] actual = Rodrigues(x, y, z, angle);
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(expected[r, c], actual[r, c], 12);
            }
        }
    }

    [Fact]
    public void Euler_to_axis_angle_known_value_and_identity()
    {
        (double x, double y, double z, double angle) = RotationConversion.EulerToAxisAngle(0.3, -0.2, 0.5);
        Assert.Equal(0.5372809660700752, x, 14);
        Assert.Equal(-0.18768148349248887, y, 14);
        Assert.Equal(0.8222559359790995, z, 14);
        Assert.Equal(0.6379623892006084, angle, 14);

        Assert.Equal((1.0, 0.0, 0.0, 0.0), RotationConversion.EulerToAxisAngle(0, 0, 0));
    }

    [Fact]
    public void Google_robot_sticky_gripper_sequence()
    {
        var rule = new GoogleRobotGripper(stickyRepeats: 3);
        Assert.Equal(0.0, rule.Apply(1.0));   // first step: no previous value
        Assert.Equal(0.0, rule.Apply(1.0));   // no change
        Assert.Equal(1.0, rule.Apply(0.0));   // change of 1 > 0.5 -> sticky starts (1 of 3)
        Assert.Equal(1.0, rule.Apply(0.0));   // held (2 of 3)
        Assert.Equal(1.0, rule.Apply(0.0));   // held (3 of 3), then released
        Assert.Equal(0.0, rule.Apply(0.0));   // back to the plain difference
        Assert.Equal(-0.3, rule.Apply(0.3), 15); // small change: passed through, not sticky
        Assert.Equal(0.0, rule.Apply(0.3));

        rule.Reset();
        Assert.Equal(0.0, rule.Apply(-1.0)); // after Reset the first step is "no previous" again
    }

    [Fact]
    public void Google_robot_decoder_holds_gripper_for_ten_steps_and_reset_clears()
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForGoogleRobot();
        int[] open = [127872, 127872, 127872, 127872, 127872, 127872, 127745, Eos];
        int[] close = [127872, 127872, 127872, 127872, 127872, 127872, 127999, Eos];

        Assert.Equal(0.0, decoder.Decode(open).Value!.Command[6]);
        double jump = 0.996078431372549 - -0.996078431372549;
        for (int step = 0; step < 10; step++)
        {
            Assert.Equal(jump, decoder.Decode(close).Value!.Command[6], 15);
        }

        Assert.Equal(0.0, decoder.Decode(close).Value!.Command[6]);

        decoder.Decode(open);
        decoder.Reset();
        Assert.Equal(0.0, decoder.Decode(close).Value!.Command[6]);
    }

    [Fact]
    public void Stop_token_is_optional()
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForBridge();
        int[] actions = [127872, 127999, 127744, 127800, 127900, 127850, 127745];
        DecodeResult<RobotAction> withEot = decoder.Decode([.. actions, Eos]);
        DecodeResult<RobotAction> withEnd = decoder.Decode([.. actions, 128001]);
        DecodeResult<RobotAction> without = decoder.Decode(actions);
        Assert.True(withEot.IsSuccess && withEnd.IsSuccess && without.IsSuccess);
        Assert.Equal(withEot.Value.Command, without.Value.Command);
        Assert.Equal(withEot.Value.Command, withEnd.Value.Command);
    }

    [Theory]
    [InlineData(new[] { 127872, 127872, 127872, 127872, 127872, Eos }, "expected 7 action tokens before <|eot_id|>, got 5")]
    [InlineData(new[] { 271, 271, 127872, 127872, 127872, 127872, 127872, Eos }, "expected 7 action tokens before <|eot_id|>, got 5")]
    [InlineData(new[] { 127872, 127872, 127872, 127872, 127872, 127872, Eos }, "got 6")]
    [InlineData(new[] { 127872, 127872, 127872, 127872, 127872, 127872, 127872, 127872, Eos }, "got 8")]
    [InlineData(new[] { 127872, 127872, 127872, 1234, 127872, 127872, 127872, Eos }, "id 1234 at position 3 is not an action token (valid 127744..127999)")]
    [InlineData(new[] { 127872, 127872, 127872, 127872, 127872, 127872, 128000, Eos }, "id 128000 at position 6 is not an action token")]
    [InlineData(new[] { 127872, 127872, 127872, 127872, 127872, 127872, 127872, 127872 }, "at the end of the output (no <|eot_id|>), got 8")]
    [InlineData(new[] { Eos }, "got 0")]
    [InlineData(new int[0], "got 0")]
    [InlineData(new[] { int.MinValue, -1, int.MaxValue, 0, 128255, 128256, 128257, Eos }, "got 0")]
    public void Malformed_action_output_is_unparseable_with_reason(int[] ids, string reason)
    {
        DecodeResult<RobotAction> result = RobotActionDecoder.ForBridge().Decode(ids);
        Assert.False(result.IsSuccess);
        Assert.Null(result.Value);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
        Assert.StartsWith("[", result.RawText, StringComparison.Ordinal);
    }

    [Fact]
    public void Runaway_generation_is_unparseable_and_raw_text_is_bounded()
    {
        int[] ids = Enumerable.Repeat(127872, 1000).ToArray();
        DecodeResult<RobotAction> result = RobotActionDecoder.ForBridge().Decode(ids);
        Assert.False(result.IsSuccess);
        Assert.Contains("got 1000", result.FailureReason, StringComparison.Ordinal);
        Assert.True(result.RawText.Length < 600);
        Assert.Contains("968 earlier ids", result.RawText, StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_decode_does_not_advance_sticky_state()
    {
        RobotActionDecoder decoder = RobotActionDecoder.ForGoogleRobot();
        Assert.True(decoder.Decode([127872, 127872, 127872, 127872, 127872, 127872, 127745, Eos]).IsSuccess);
        Assert.False(decoder.Decode([1, 2, 3, Eos]).IsSuccess);
        // Previous gripper is still the open value: a close now is a jump.
        Assert.True(decoder.Decode([127872, 127872, 127872, 127872, 127872, 127872, 127999, Eos]).Value!.Command[6] > 1.9);
    }

    private static double[,] Rx(double a) => new double[,] { { 1, 0, 0 }, { 0, Math.Cos(a), -Math.Sin(a) }, { 0, Math.Sin(a), Math.Cos(a) } };

    private static double[,] Ry(double a) => new double[,] { { Math.Cos(a), 0, Math.Sin(a) }, { 0, 1, 0 }, { -Math.Sin(a), 0, Math.Cos(a) } };

    private static double[,] Rz(double a) => new double[,] { { Math.Cos(a), -Math.Sin(a), 0 }, { Math.Sin(a), Math.Cos(a), 0 }, { 0, 0, 1 } };

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        var m = new double[3, 3];
        for (int r = 0; r < 3; r++)
        {
            for (int c = 0; c < 3; c++)
            {
                for (int k = 0; k < 3; k++)
                {
                    m[r, c] += a[r, k] * b[k, c];
                }
            }
        }

        return m;
    }

    private static double[,] Rodrigues(double x, double y, double z, double t)
    {
        double c = Math.Cos(t), s = Math.Sin(t), v = 1 - c;
        return new double[,]
        {
            { (x * x * v) + c, (x * y * v) - (z * s), (x * z * v) + (y * s) },
            { (y * x * v) + (z * s), (y * y * v) + c, (y * z * v) - (x * s) },
            { (z * x * v) - (y * s), (z * y * v) + (x * s), (z * z * v) + c },
        };
    }
}
