namespace Magma.Cli;

/// <summary>
/// Whether this build of the tool carries ONNX Runtime's CUDA provider. The default <c>Magma.Cli</c> package leaves
/// it out (it is 284 MB on Linux, 197 MB on Windows, of no use without an NVIDIA GPU); <c>Magma.Cli.Cuda</c>, packed
/// with <c>-p:MagmaCuda=true</c>, and a build run from the repository have it.
/// </summary>
internal static class CudaProvider
{
    private static readonly string[] Names = ["libonnxruntime_providers_cuda.so", "onnxruntime_providers_cuda.dll"];

    /// <summary>Whether the provider library is next to the tool (RID-specific package) or under its runtimes/ folders.</summary>
    public static bool IsBundled()
    {
        string root = AppContext.BaseDirectory;
        if (Names.Any(n => File.Exists(Path.Combine(root, n))))
        {
            return true;
        }

        string runtimes = Path.Combine(root, "runtimes");
        return Directory.Exists(runtimes)
            && Directory.EnumerateDirectories(runtimes).Any(rid => Names.Any(n => File.Exists(Path.Combine(rid, "native", n))));
    }

    /// <summary>Fails with what to install when --cuda is asked of a CPU build; nothing otherwise.</summary>
    /// <exception cref="InvalidOperationException">This build has no CUDA provider.</exception>
    public static void EnsureBundled()
    {
        if (!IsBundled())
        {
            throw new InvalidOperationException(
                "--cuda: this magma tool is the CPU build (package Magma.Cli), which leaves ONNX Runtime's CUDA provider out to stay " +
                "small. For the GPU, install the CUDA build instead: dotnet pack tools/Magma.Cli -c Release -p:MagmaCuda=true -o out/nupkg, " +
                "then dotnet tool install --global Magma.Cli.Cuda --add-source out/nupkg (after dotnet tool uninstall --global Magma.Cli; " +
                "it needs an NVIDIA driver R580+ and the CUDA 13 runtime), or run it from the repository: " +
                "dotnet run --project tools/Magma.Cli -c Release -- <command> --cuda.");
        }
    }
}
