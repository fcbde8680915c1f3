namespace Magma.Plugins.Web.Acting;

/// <summary>How a select action changes a list's choice.</summary>
public enum WebSelectMode
{
    /// <summary>The option becomes the only choice.</summary>
    Replace,

    /// <summary>The option is added to a multi-select's choices; the others stay.</summary>
    Add,

    /// <summary>The option is removed from a multi-select's choices; the others stay.</summary>
    Remove,
}
