namespace Magma.Plugins.Robotics.Python;

/// <summary>
/// A Python exception raised by a call into the interpreter, carried into .NET with its Python type, message and
/// formatted traceback.
/// </summary>
public sealed class PythonErrorException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="pythonType">The Python exception type, e.g. <c>RuntimeError</c>.</param>
    /// <param name="pythonMessage">The exception's <c>str()</c>.</param>
    /// <param name="pythonTraceback">The traceback as Python prints it.</param>
    /// <param name="operation">What the plugin was doing, e.g. <c>env.step</c>.</param>
    /// <param name="inner">The pythonnet exception, if any.</param>
    public PythonErrorException(string pythonType, string pythonMessage, string pythonTraceback, string operation, Exception? inner = null)
        : base($"{operation} raised {pythonType}: {pythonMessage}", inner)
    {
        PythonType = pythonType;
        PythonMessage = pythonMessage;
        PythonTraceback = pythonTraceback;
        Operation = operation;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public PythonErrorException()
        : this("Exception", string.Empty, string.Empty, "Python call")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public PythonErrorException(string message)
        : this("Exception", message, string.Empty, "Python call")
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public PythonErrorException(string message, Exception innerException)
        : this("Exception", message, string.Empty, "Python call", innerException)
    {
    }

    /// <summary>The Python exception type name (qualified with its module unless built in).</summary>
    public string PythonType { get; }

    /// <summary>The Python exception's message.</summary>
    public string PythonMessage { get; }

    /// <summary>The traceback, formatted as the Python console prints it.</summary>
    public string PythonTraceback { get; }

    /// <summary>The operation that failed (e.g. <c>env.step</c>).</summary>
    public string Operation { get; }

    /// <inheritdoc />
    public override string ToString() => $"{base.ToString()}{Environment.NewLine}--- Python traceback ---{Environment.NewLine}{PythonTraceback}";
}
