namespace Magma.Tasks.Marks;

/// <summary>An axis-aligned box in pixels: top-left corner and size (OmniParser's <c>[x, y, w, h]</c>).</summary>
/// <param name="X">Left edge.</param>
/// <param name="Y">Top edge.</param>
/// <param name="Width">Width; a negative width marks an invalid box, which Set-of-Mark drops.</param>
/// <param name="Height">Height; a negative height marks an invalid box, which Set-of-Mark drops.</param>
public readonly record struct MarkBox(float X, float Y, float Width, float Height)
{
    /// <summary>Right edge, <c>X + Width</c>.</summary>
    public float Right => X + Width;

    /// <summary>Bottom edge, <c>Y + Height</c>.</summary>
    public float Bottom => Y + Height;

    /// <summary>Centre point, e.g. the click target of a mark.</summary>
    public (float X, float Y) Center => (X + (Width / 2f), Y + (Height / 2f));

    /// <summary>Area of the overlap with another box (0 when they do not overlap).</summary>
    public float IntersectionArea(MarkBox other)
    {
        float w = MathF.Min(Right, other.Right) - MathF.Max(X, other.X);
        float h = MathF.Min(Bottom, other.Bottom) - MathF.Max(Y, other.Y);
        return w > 0f && h > 0f ? w * h : 0f;
    }
}

/// <summary>How Set-of-Mark numbers its boxes.</summary>
public enum MarkNumbering
{
    /// <summary>0, 1, 2, … in box order: the released UI-agent demo (use this with Magma-8B's UI prompts).</summary>
    ZeroBased = 0,

    /// <summary>1, 2, 3, …: the paper's Algorithm 1 and the robotics/video marks.</summary>
    OneBased = 1,
}
