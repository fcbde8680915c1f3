namespace Magma.Inference;

/// <summary>
/// Thrown when an input handed to the engine (an image, a prompt, a chat) cannot be used.
/// The message names the input and says what to change.
/// </summary>
public sealed class MagmaInputException : Exception
{
    /// <summary>Creates the exception with a message that says what was wrong and how to fix it.</summary>
    public MagmaInputException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public MagmaInputException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what went wrong.</summary>
    public MagmaInputException() { }
}
