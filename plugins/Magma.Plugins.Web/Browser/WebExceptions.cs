namespace Magma.Plugins.Web.Browser;

/// <summary>
/// An action named marks of an observation that is no longer current (a newer observation or a page load replaced
/// it), or its target moved or is covered. The agent should observe again and act on the new marks.
/// </summary>
public sealed class WebStaleObservationException : InvalidOperationException
{
    /// <summary>Creates the exception with a message that says what changed and to observe again.</summary>
    public WebStaleObservationException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public WebStaleObservationException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what went wrong.</summary>
    public WebStaleObservationException() { }
}

/// <summary>A navigation, request or pop-up was refused by the origin allow-list, or an action was not allowed.</summary>
public sealed class WebPolicyException : InvalidOperationException
{
    /// <summary>Creates the exception with a message naming the URL and how to allow it.</summary>
    public WebPolicyException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public WebPolicyException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what went wrong.</summary>
    public WebPolicyException() { }
}

/// <summary>An action could not be carried out (no such mark, not a select, no matching option, browser failure).</summary>
public sealed class WebActionException : InvalidOperationException
{
    /// <summary>Creates the exception with a message that names the mark/value and what to do.</summary>
    public WebActionException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public WebActionException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message; prefer the overloads that say what went wrong.</summary>
    public WebActionException() { }
}
