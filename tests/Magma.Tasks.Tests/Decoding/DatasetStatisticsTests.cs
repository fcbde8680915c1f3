using Magma.Inference;
using Magma.Tasks.Decoding;
using Xunit;

namespace Magma.Tasks.Tests.Decoding;

public sealed class DatasetStatisticsTests
{
    private static string AssetPath => Path.Combine(AppContext.BaseDirectory, "assets", "decoding", "dataset_statistics.json");

    [Fact]
    public void Loads_example_file_and_finds_libero_key()
    {
        DatasetStatistics stats = DatasetStatistics.Load(AssetPath);
        Assert.Equal(["libero_goal_no_noops", "libero_spatial_no_noops"], stats.Keys.ToArray());

        ActionStatistics goal = stats.For("libero_goal_no_noops");
        Assert.Equal([-0.75, -0.8, -0.9, -0.1, -0.15, -0.2, 0.0], goal.Q01);
        Assert.Equal([0.75, 0.8, 0.9, 0.1, 0.15, 0.2, 1.0], goal.Q99);
        Assert.Equal([true, true, true, true, true, true, false], goal.Mask);
    }

    [Fact]
    public void Missing_mask_means_all_dimensions_unnormalised()
    {
        ActionStatistics spatial = DatasetStatistics.Load(AssetPath).For("libero_spatial_no_noops");
        Assert.All(spatial.Mask, Assert.True);

        Span<double> raw = stackalloc double[7];
        spatial.Unnormalize([0, 0, 0, 0, 0, 0, 0], raw);
        // Gripper (q01 0, q99 1) at normalised 0 becomes 0.5 when unmasked.
        Assert.Equal(0.5, raw[6]);
        Assert.Equal(0.0, raw[0]);
    }

    [Fact]
    public void Unknown_key_lists_available_keys()
    {
        DatasetStatistics stats = DatasetStatistics.Load(AssetPath);
        var ex = Assert.Throws<MagmaPackageException>(() => stats.For("libero_10_no_noops"));
        Assert.Contains("libero_10_no_noops", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libero_goal_no_noops, libero_spatial_no_noops", ex.Message, StringComparison.Ordinal);
        Assert.Contains("dataset_statistics.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_names_the_file()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "assets", "decoding", "nope.json");
        var ex = Assert.Throws<MagmaPackageException>(() => DatasetStatistics.Load(path));
        Assert.Contains("nope.json", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"k\": {\"action\": {\"q01\": [0,0,0,0,0,0], \"q99\": [1,1,1,1,1,1,1]}}}", "k.action.q01", "6 values")]
    [InlineData("{\"k\": {\"action\": {\"q99\": [1,1,1,1,1,1,1]}}}", "k.action.q01", "missing")]
    [InlineData("{\"k\": {\"action\": {\"q01\": [0,0,0,0,0,0,0], \"q99\": [1,1,1,\"x\",1,1,1]}}}", "k.action.q99[3]", "finite number")]
    [InlineData("{\"k\": {\"action\": {\"q01\": [0,0,0,0,0,0,0], \"q99\": [1,1,1,1,1,1,1], \"mask\": [true]}}}", "k.action.mask", "7 booleans")]
    [InlineData("{\"k\": {\"action\": {\"q01\": [0,0,0,0,0,0,0], \"q99\": [1,1,1,1,1,1,1], \"mask\": [1,1,1,1,1,1,1]}}}", "k.action.mask[0]", "true or false")]
    [InlineData("{\"k\": {\"action\": {\"q01\": [0,0,2,0,0,0,0], \"q99\": [1,1,1,1,1,1,1]}}}", "k.action", "q01[2] = 2 is greater than q99[2] = 1")]
    [InlineData("{\"k\": {\"action\": [1, 2]}}", "k.action", "must be an object")]
    [InlineData("{\"k\": {\"proprio\": {}}}", "stats.json", "no dataset entry")]
    [InlineData("[1, 2]", "stats.json", "root must be an object")]
    [InlineData("{\"k\": {\"action\": {", "stats.json", "not valid JSON")]
    [InlineData("{\"k\": {\"action\": {\"q01\": [0,0,0,0,0,0,0], \"q99\": [1,1,1,1,1,1,1e999]}}}", "k.action.q99[6]", "finite number")]
    public void Bad_statistics_name_file_and_field(string json, string field, string what)
    {
        var ex = Assert.Throws<MagmaPackageException>(() => DatasetStatistics.Parse(json, "stats.json"));
        Assert.StartsWith("stats.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builtin_bridge_and_google_statistics_are_the_simplerenv_numbers()
    {
        Assert.Equal(-0.02872725307941437, ActionStatistics.BridgeOrig.Q01[0]);
        Assert.Equal(0.20382574498653397, ActionStatistics.BridgeOrig.Q99[5]);
        Assert.Equal(-0.43643461108207704, ActionStatistics.GoogleRobot.Q01[5]);
        Assert.Equal(0.5892666035890578, ActionStatistics.GoogleRobot.Q99[3]);
        Assert.Equal([true, true, true, true, true, true, false], ActionStatistics.BridgeOrig.Mask);
        Assert.Equal([true, true, true, true, true, true, false], ActionStatistics.GoogleRobot.Mask);
    }

    [Fact]
    public void Programmatic_statistics_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new ActionStatistics([0, 0], [1, 1]));
        Assert.Throws<ArgumentException>(() => new ActionStatistics([0, 0, 0, 0, 0, 0, double.NaN], [1, 1, 1, 1, 1, 1, 1]));
    }
}
