using Magma.Plugins.Web.Browser;

namespace Magma.Plugins.Web.Tests;

/// <summary>The guard on page-script arguments (Playwright sends a float as <c>{}</c>).</summary>
public sealed class PageArgumentsTests
{
    [Fact]
    public void A_float_argument_is_refused_with_its_name_and_doubles_pass()
    {
        float x = 12.5f;
        var ex = Assert.Throws<InvalidOperationException>(() => PageArguments.Check("reach", new { id = "obs-1", mark = 3, x, y = (float?)4f }));
        Assert.Contains("'reach'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'x'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("double", ex.Message, StringComparison.Ordinal);

        PageArguments.Check("reach", new { id = "obs-1", mark = 3, x = (double)x, y = 4.0 });
        PageArguments.Check("scroll", new { id = (string?)null, dy = 300 });
    }
}
