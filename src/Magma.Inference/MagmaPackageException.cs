namespace Magma.Inference;

/// <summary>
/// Thrown when a model package (folder, manifest, graph or tokenizer file) is missing or does not
/// match what the engine expects. The message names the file and the field.
/// </summary>
public sealed class MagmaPackageException : Exception
{
    /// <summary>Creates the exception with a message that names the file and field at fault.</summary>
    public MagmaPackageException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public MagmaPackageException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what went wrong.</summary>
    public MagmaPackageException() { }
}
