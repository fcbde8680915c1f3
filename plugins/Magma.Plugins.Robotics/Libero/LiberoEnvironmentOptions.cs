namespace Magma.Plugins.Robotics.Libero;

/// <summary>How a <see cref="LiberoEnvironment"/> is created.</summary>
public sealed class LiberoEnvironmentOptions
{
    /// <summary>Camera height and width (<c>camera_heights</c>/<c>camera_widths</c>); the reference uses 256.</summary>
    public int Resolution { get; init; } = LiberoProtocol.Resolution;

    /// <summary>The seed passed to <c>env.seed</c> once after creation; the reference uses 0.</summary>
    public int Seed { get; init; } = LiberoProtocol.Seed;

    /// <summary>Whether to copy <c>robot0_eye_in_hand_image</c> into each observation (Magma does not use it).</summary>
    public bool ReadWristView { get; init; } = true;

    /// <summary>Bounds every action is checked against before <c>env.step</c>.</summary>
    public LiberoActionSpace ActionSpace { get; init; } = LiberoActionSpace.Default;
}
