using Magma.Inference.Imaging;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// One LIBERO observation, copied out of Python: the camera frames exactly as the simulator returned them (upside
/// down, robosuite's OpenGL convention) and the proprioceptive state.
/// </summary>
public sealed class LiberoObservation
{
    private RgbImage? _upright;
    private RgbImage? _modelFrame;

    internal LiberoObservation(RgbImage agentView, RgbImage? wristView, double[] eefPosition, double[] eefQuaternion, double[] gripperPositions)
    {
        AgentView = agentView;
        WristView = wristView;
        EefPosition = eefPosition;
        EefQuaternion = eefQuaternion;
        GripperPositions = gripperPositions;
    }

    /// <summary><c>obs["agentview_image"]</c> as returned (rotated 180° relative to the scene).</summary>
    public RgbImage AgentView { get; }

    /// <summary><c>obs["robot0_eye_in_hand_image"]</c> as returned, when read.</summary>
    public RgbImage? WristView { get; }

    /// <summary><c>obs["robot0_eef_pos"]</c> (3 values; empty when the key is absent).</summary>
    public IReadOnlyList<double> EefPosition { get; }

    /// <summary><c>obs["robot0_eef_quat"]</c> (4 values; empty when the key is absent).</summary>
    public IReadOnlyList<double> EefQuaternion { get; }

    /// <summary><c>obs["robot0_gripper_qpos"]</c> (2 values; empty when the key is absent).</summary>
    public IReadOnlyList<double> GripperPositions { get; }

    /// <summary>The agent view rotated 180° (upright, what a person expects to see; what the videos show).</summary>
    public RgbImage UprightAgentView => _upright ??= LiberoFrame.Rotate180(AgentView);

    /// <summary>
    /// The agent view after the reference's transform (spec §6.2: 180° rotation, JPEG round-trip, 256×256): what
    /// the Magma policy sees. Computed once.
    /// </summary>
    public RgbImage ModelFrame => _modelFrame ??= LiberoFrame.Prepare(AgentView);
}

/// <summary>The result of one <c>env.step</c>.</summary>
/// <param name="Observation">The observation after the step.</param>
/// <param name="Reward">The reward LIBERO returned.</param>
/// <param name="Done">LIBERO's <c>done</c>, which is task success (the reference counts success on it).</param>
public sealed record LiberoStep(LiberoObservation Observation, double Reward, bool Done);
