using Python.Runtime;

namespace Magma.Plugins.Robotics.Python;

/// <summary>
/// The embedded CPython interpreter: loaded and started once per process, the GIL released after start-up and taken
/// around every call made through <see cref="Invoke{T}"/>, Python exceptions turned into <see cref="PythonErrorException"/>.
/// </summary>
/// <remarks>
/// The interpreter is never shut down: pythonnet's shutdown is unreliable with native extensions loaded (MuJoCo,
/// numpy), and the process exit releases everything.
/// </remarks>
public sealed class PythonHost
{
    private static readonly Lock StartLock = new();
    private static PythonHost? _instance;

    // Small Python helpers compiled once at start-up (kept for the life of the process).
    private const string HelperSource = """
        import os, sys

        def add_path(p):
            if p not in sys.path:
                sys.path.insert(0, p)

        def set_env(name, value):
            os.environ[name] = value
        """;

    private readonly PyModule _helpers;

    private PythonHost(string libraryPath, string? executable, string version, PyModule helpers)
    {
        _helpers = helpers;
        LibraryPath = libraryPath;
        PythonExecutable = executable;
        Version = version;
    }

    /// <summary>The host started in this process, or null.</summary>
    public static PythonHost? Current => Volatile.Read(ref _instance);

    /// <summary>The libpython that was loaded.</summary>
    public string LibraryPath { get; }

    /// <summary>The executable given to CPython as its program name (null when none was found; CPython then uses its compiled-in prefix).</summary>
    public string? PythonExecutable { get; }

    /// <summary><c>sys.version</c> of the running interpreter.</summary>
    public string Version { get; }

    /// <summary>
    /// Starts the interpreter, or returns the one already running (adding <see cref="PythonHostOptions.SysPaths"/> and
    /// <see cref="PythonHostOptions.EnvironmentVariables"/> to it).
    /// </summary>
    /// <exception cref="FileNotFoundException">No libpython was found; the message lists what was tried.</exception>
    /// <exception cref="InvalidOperationException">A different library is already loaded in this process.</exception>
    public static PythonHost Start(PythonHostOptions? options = null)
    {
        options ??= new PythonHostOptions();
        lock (StartLock)
        {
            PythonHost? running = _instance;
            if (running is not null)
            {
                if (options.LibraryPath is not null && !SamePath(options.LibraryPath, running.LibraryPath))
                {
                    throw new InvalidOperationException(
                        $"Python is already running from '{running.LibraryPath}'; a process can embed one interpreter, so '{options.LibraryPath}' cannot be loaded too.");
                }

                running.Configure(options);
                return running;
            }

            string library = PythonLibraryLocator.FindLibrary(options.LibraryPath, Environment.GetEnvironmentVariable, File.Exists);
            string? executable = PythonLibraryLocator.FindExecutable(options.PythonExecutable, library, Environment.GetEnvironmentVariable, File.Exists);
            Runtime.PythonDLL = library;
            if (executable is not null)
            {
                // CPython derives sys.prefix (and a venv's site-packages through pyvenv.cfg) from the program name;
                // without it, it would start from the dotnet executable and miss the environment's packages.
                PythonEngine.ProgramName = executable;
            }

            try
            {
                PythonEngine.Initialize();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new InvalidOperationException(
                    $"CPython failed to start from '{library}' (program name '{executable ?? "(default)"}'): {ex.Message}. " +
                    "Check that the library and the executable belong to the same Python installation.", ex);
            }

            string version;
            PyModule helpers;
            using (Py.GIL())
            {
                using dynamic sys = Py.Import("sys");
                version = (string)sys.version;
                helpers = PyModule.FromString("_magma_host", HelperSource);
            }

            // Release the GIL taken by Initialize: every later call takes it for its own duration, from any thread.
            PythonEngine.BeginAllowThreads();
            var host = new PythonHost(library, executable, version, helpers);
            host.Configure(options);
            Volatile.Write(ref _instance, host);
            return host;
        }
    }

    /// <summary>Prepends a folder to <c>sys.path</c> if it is not there yet.</summary>
    public void AddSysPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        Invoke("sys.path.insert", () =>
        {
            using var item = new PyString(full);
            _helpers.InvokeMethod("add_path", item).Dispose();
            return 0;
        });
    }

    /// <summary>Sets a variable in Python's <c>os.environ</c> (which .NET's own environment changes do not reach on Linux).</summary>
    public void SetEnvironmentVariable(string name, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        Invoke("os.environ", () =>
        {
            using var n = new PyString(name);
            using var v = new PyString(value);
            _helpers.InvokeMethod("set_env", n, v).Dispose();
            return 0;
        });
    }

    /// <summary>
    /// Runs <paramref name="call"/> holding the GIL. A Python exception becomes a <see cref="PythonErrorException"/>
    /// with its type, message and traceback, labelled with <paramref name="operation"/>.
    /// </summary>
    /// <param name="operation">What is being called, used in error messages (e.g. <c>env.step</c>).</param>
    /// <param name="call">The work; Python objects it creates must not escape it unless the caller takes the GIL to use them.</param>
    public T Invoke<T>(string operation, Func<T> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        ObjectDisposedException.ThrowIf(_helpers is null, this);
        using (Py.GIL())
        {
            try
            {
                return call();
            }
            catch (PythonException ex)
            {
                throw Translate(ex, operation);
            }
        }
    }

    /// <summary>Converts a pythonnet exception (GIL held) into a <see cref="PythonErrorException"/>.</summary>
    internal static PythonErrorException Translate(PythonException ex, string operation)
    {
        string type = "Exception";
        string traceback = string.Empty;
        string message = ex.Message;
        try
        {
            using PyObject t = ex.Type;
            string name = t.GetAttr("__qualname__").ToString() ?? "Exception";
            string module = t.GetAttr("__module__").ToString() ?? "builtins";
            type = module == "builtins" ? name : $"{module}.{name}";
            traceback = ex.Format();
        }
        catch (PythonException)
        {
            // Formatting itself failed (broken __str__ or traceback module); keep what pythonnet already had.
        }

        return new PythonErrorException(type, message, traceback, operation, ex);
    }

    private void Configure(PythonHostOptions options)
    {
        foreach (KeyValuePair<string, string> variable in options.EnvironmentVariables)
        {
            SetEnvironmentVariable(variable.Key, variable.Value);
        }

        // Insert in reverse so the first configured folder ends up first on sys.path.
        for (int i = options.SysPaths.Count - 1; i >= 0; i--)
        {
            AddSysPath(options.SysPaths[i]);
        }
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
}
