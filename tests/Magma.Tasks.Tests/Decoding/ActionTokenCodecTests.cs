using Magma.Inference;
using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class ActionTokenCodecTests
{
    private readonly ActionTokenCodec _codec = new();

    [Fact]
    public void Action_id_range_is_last_256_base_vocabulary_ids()
    {
        Assert.Equal(127744, _codec.FirstActionId);
        Assert.Equal(127999, _codec.LastActionId);
        Assert.True(_codec.IsActionToken(127744));
        Assert.True(_codec.IsActionToken(127999));
        Assert.False(_codec.IsActionToken(127743));
        Assert.False(_codec.IsActionToken(128000));
        Assert.False(_codec.IsActionToken(128009));
        Assert.False(_codec.IsActionToken(-1));
    }

    [Theory]
    [InlineData(127872, 0.0)]
    [InlineData(127999, -0.996078431372549)]
    [InlineData(127745, 0.996078431372549)]
    [InlineData(127744, 0.996078431372549)] // d - 1 = 255 clamps to the last centre
    [InlineData(127871, 0.007843137254901933)]
    [InlineData(127873, -0.007843137254901933)]
    public void ToNormalized_matches_numpy_bin_centres(int id, double expected)
    {
        // Expected values are numpy's float64 (linspace(-1, 1, 256) then pairwise means), bit for bit.
        Assert.Equal(expected, _codec.ToNormalized(id));
    }

    [Fact]
    public void Centre_formula_matches_closed_form()
    {
        for (int i = 0; i < 255; i++)
        {
            double closedForm = -1 + ((2.0 * i) + 1) / 255;
            Assert.Equal(closedForm, _codec.ToNormalized(127999 - i), 12);
        }
    }

    [Theory]
    [InlineData(0.0, 127872)]
    [InlineData(1.0, 127744)]
    [InlineData(-1.0, 127999)]
    [InlineData(5.0, 127744)] // clipped
    [InlineData(-5.0, 127999)]
    [InlineData(0.5, 127808)]
    public void FromNormalized_follows_openvla_digitize(double value, int expectedId)
    {
        Assert.Equal(expectedId, _codec.FromNormalized(value));
    }

    [Fact]
    public void Round_trip_is_exact_for_every_reachable_id()
    {
        // 127744 decodes to the same centre as 127745, so it re-encodes to 127745; every other id round-trips.
        for (int id = 127745; id <= 127999; id++)
        {
            Assert.Equal(id, _codec.FromNormalized(_codec.ToNormalized(id)));
        }

        Assert.Equal(127745, _codec.FromNormalized(_codec.ToNormalized(127744)));
    }

    [Fact]
    public void FromNormalized_rejects_nan()
    {
        var ex = Assert.Throws<MagmaInputException>(() => _codec.FromNormalized(double.NaN));
        Assert.Contains("NaN", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Custom_vocabulary_moves_the_range()
    {
        var codec = new ActionTokenCodec(baseVocabularySize: 1000);
        Assert.Equal(744, codec.FirstActionId);
        Assert.Equal(999, codec.LastActionId);
        Assert.Equal(0.0, codec.ToNormalized(872));
    }
}
