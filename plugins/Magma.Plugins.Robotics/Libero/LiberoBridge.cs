using Python.Runtime;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>The embedded <c>LiberoBridge.py</c>, compiled once in the process's interpreter.</summary>
internal static class LiberoBridge
{
    private const string ResourceName = "Magma.Plugins.Robotics.LiberoBridge.py";
    private static readonly Lock Gate = new();
    private static PyModule? _module;

    /// <summary>The bridge module. Call with the GIL held.</summary>
    internal static PyModule Module
    {
        get
        {
            lock (Gate)
            {
                if (_module is null)
                {
                    using Stream stream = typeof(LiberoBridge).Assembly.GetManifestResourceStream(ResourceName)
                        ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from Magma.Plugins.Robotics.");
                    using var reader = new StreamReader(stream);
                    _module = PyModule.FromString("_magma_libero_bridge", reader.ReadToEnd());
                }

                return _module;
            }
        }
    }

    internal static LiberoTask ToTask(string suite, int taskId, PyObject info)
    {
        using PyObject name = info[0];
        using PyObject language = info[1];
        using PyObject bddl = info[2];
        using PyObject count = info[3];
        return new LiberoTask(suite, taskId, name.As<string>(), language.As<string>(), bddl.As<string>(), count.As<int>());
    }
}
