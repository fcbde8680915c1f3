namespace Magma.Plugins.Robotics.Python;

/// <summary>Which CPython the process embeds, and what it sees at start-up.</summary>
public sealed class PythonHostOptions
{
    /// <summary>
    /// Full path of the <c>libpython3.x.so</c> to load. When null: the <c>MAGMA_PYTHON_LIBRARY</c> or
    /// <c>PYTHONNET_PYDLL</c> environment variable, then the system Python's library in the usual Debian/Ubuntu,
    /// Fedora and /usr/local locations (newest 3.x first).
    /// </summary>
    public string? LibraryPath { get; init; }

    /// <summary>
    /// The <c>python</c> executable of the environment whose packages should be importable (a venv's or conda's
    /// <c>bin/python</c>). It becomes <c>PythonEngine.ProgramName</c>, from which CPython derives <c>sys.prefix</c> and
    /// finds a venv's <c>pyvenv.cfg</c>. When null: <c>MAGMA_PYTHON_EXECUTABLE</c>, else the <c>python3.x</c> beside
    /// the library's prefix (e.g. <c>/usr/bin/python3.11</c> for <c>/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0</c>).
    /// </summary>
    public string? PythonExecutable { get; init; }

    /// <summary>Folders prepended to <c>sys.path</c> (e.g. a LIBERO checkout, or a test environment).</summary>
    public IReadOnlyList<string> SysPaths { get; init; } = [];

    /// <summary>
    /// Variables set in <c>os.environ</c> before anything is imported (e.g. <c>MUJOCO_GL=egl</c> for headless
    /// rendering). They are set from inside Python because, on Linux, .NET's
    /// <c>Environment.SetEnvironmentVariable</c> changes only .NET's copy and never reaches the interpreter.
    /// </summary>
    public IReadOnlyDictionary<string, string> EnvironmentVariables { get; init; } = new Dictionary<string, string>();
}
