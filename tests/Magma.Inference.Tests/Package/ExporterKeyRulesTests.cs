using System.Diagnostics;

namespace Magma.Inference.Tests.Package;

/// <summary>
/// tools/export/checkpoint_keys.py (which checkpoint tensors the exporter must find) is standard-library Python, so its
/// unittest runs here with the system Python, without torch: missing ConvNeXt layer scales, downsamples and LM heads
/// fail with the expected-vs-found keys, and the committed tiny package's layout passes.
/// </summary>
public sealed class ExporterKeyRulesTests
{
    [Fact]
    public async Task The_exporters_key_rules_pass_their_unittest()
    {
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.Combine(AppContext.BaseDirectory, "export"),
        };
        foreach (string a in (string[])["-m", "unittest", "-v", "test_checkpoint_keys"])
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["MAGMA_TINY_VISION"] = Path.Combine(AppContext.BaseDirectory, "assets", "tiny-magma", "vision.onnx");
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        string log = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        log = await output + log;
        Assert.True(process.ExitCode == 0, log);
        // unittest reports on stderr: every test ran, none was skipped ("OK (skipped=1)" otherwise).
        Assert.Contains("Ran 13 tests", log, StringComparison.Ordinal);
        Assert.EndsWith("\nOK\n", log, StringComparison.Ordinal);
    }
}
