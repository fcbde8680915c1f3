using Magma.Plugins.Robotics.Python;

namespace Magma.Plugins.Robotics.Tests;

/// <summary>
/// Every test that touches the interpreter is in this one collection: one embedded CPython per process, and the
/// tests must not run in parallel with each other.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PythonTests : ICollectionFixture<PythonFixture>
{
    public const string Name = "Python (fake LIBERO)";
}

/// <summary>Starts the system CPython once with the fake LIBERO package on sys.path.</summary>
public sealed class PythonFixture
{
    public PythonFixture()
    {
        FakeLiberoPath = Path.Combine(AppContext.BaseDirectory, "fake_libero");
        Host = PythonHost.Start(new PythonHostOptions
        {
            SysPaths = [FakeLiberoPath],
            EnvironmentVariables = new Dictionary<string, string> { ["MAGMA_TEST_VARIABLE"] = "set-from-dotnet" },
        });
    }

    public PythonHost Host { get; }

    public string FakeLiberoPath { get; }

    public static string TinyMagmaPath => Path.Combine(AppContext.BaseDirectory, "tiny-magma");
}
