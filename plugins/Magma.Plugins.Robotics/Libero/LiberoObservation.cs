using Magma.Inference.Imaging;

namespace Magma.Plugins.Robotics.Libero;

/// <summary>
/// One LIBERO observation, copied out of Python: the camera frames exactly as the simulator returned them (upside
/// down: robosuite's OpenGL convention stores rows bottom to top) and the proprioceptive state.
/// </summary>
/// <remarks>
/// <para><b>Orientation.</b> <see cref="CameraView"/> is what the camera sees (the rows flipped back, as LIBERO's own
/// video writer does with <c>[::-1]</c>). <see cref="RotatedAgentView"/> and <see cref="ModelFrame"/> are rotated 180°
/// (<c>[::-1, ::-1]</c>), as Magma's and OpenVLA's LIBERO evaluations feed the policy: upright too, but mirrored left
/// to right against the camera.</para>
/// <para><b>Frame buffers and ownership.</b> The frames (<see cref="AgentView"/>, <see cref="WristView"/>, and the
/// derived <see cref="CameraView"/>, <see cref="RotatedAgentView"/> and <see cref="ModelFrame"/>) live in arrays rented from the environment that
/// produced the observation. The observation owns them until it is disposed; <see cref="Dispose"/> hands them back
/// so that a later observation of the same environment reuses them (no 196 KB allocation per frame, hence no gen-2
/// collections in the episode loop).</para>
/// <para>Rules: dispose an observation only when nothing will read it again, and that includes every
/// <see cref="RgbImage"/> obtained from its frame properties, because its pixels will be overwritten by a later frame.
/// To keep a frame beyond that, copy it (<c>RgbImage.FromPixels(w, h, image.Span.ToArray())</c>). After disposal the
/// frame properties throw <see cref="ObjectDisposedException"/>; the proprioceptive values stay readable. Not disposing
/// is always safe: the arrays are then collected by the GC (the cost of a fresh allocation per frame).
/// <see cref="Evaluation.EpisodeRunner"/> disposes each observation once the next one has arrived and the policy has
/// returned, so a policy must not keep frames from <see cref="Policy.IRobotPolicy.ActAsync"/> past its return.</para>
/// </remarks>
public sealed class LiberoObservation : IDisposable
{
    private readonly FrameBufferPool? _pool;
    private RgbImage? _agentView;
    private RgbImage? _wristView;
    private RgbImage? _camera;
    private RgbImage? _rotated;
    private RgbImage? _modelFrame;
    private byte[]?[]? _rented;
    private int _disposed;

    internal LiberoObservation(
        RgbImage agentView, RgbImage? wristView, double[] eefPosition, double[] eefQuaternion, double[] gripperPositions,
        FrameBufferPool? pool = null)
    {
        _agentView = agentView;
        _wristView = wristView;
        EefPosition = eefPosition;
        EefQuaternion = eefQuaternion;
        GripperPositions = gripperPositions;
        _pool = pool;
        if (pool is not null)
        {
            // Frames read through the pool: agent view, wrist view, then the three derived frames once computed.
            _rented = [ArrayOf(agentView), wristView is null ? null : ArrayOf(wristView), null, null, null];
        }
    }

    /// <summary><c>obs["agentview_image"]</c> as returned (upside down: rows bottom to top).</summary>
    /// <exception cref="ObjectDisposedException">The observation was disposed (its frame buffers were reused).</exception>
    public RgbImage AgentView
    {
        get
        {
            ThrowIfDisposed();
            return _agentView!;
        }
    }

    /// <summary><c>obs["robot0_eye_in_hand_image"]</c> as returned, when read.</summary>
    /// <exception cref="ObjectDisposedException">The observation was disposed.</exception>
    public RgbImage? WristView
    {
        get
        {
            ThrowIfDisposed();
            return _wristView;
        }
    }

    /// <summary><c>obs["robot0_eef_pos"]</c> (3 values; empty when the key is absent).</summary>
    public IReadOnlyList<double> EefPosition { get; }

    /// <summary><c>obs["robot0_eef_quat"]</c> (4 values; empty when the key is absent).</summary>
    public IReadOnlyList<double> EefQuaternion { get; }

    /// <summary><c>obs["robot0_gripper_qpos"]</c> (2 values; empty when the key is absent).</summary>
    public IReadOnlyList<double> GripperPositions { get; }

    /// <summary>Whether <see cref="Dispose"/> was called (the frames are no longer available).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// The agent view as the camera sees it: the returned frame with its rows flipped back (<c>[::-1]</c>, what
    /// LIBERO's own video writer saves). What the episode videos show by default. Computed once.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The observation was disposed.</exception>
    public RgbImage CameraView
    {
        get
        {
            ThrowIfDisposed();
            if (_camera is null)
            {
                RgbImage source = _agentView!;
                byte[] destination = RentFor(4, source.Span.Length);
                int row = source.Width * 3;
                ReadOnlySpan<byte> from = source.Span;
                for (int y = 0, h = source.Height; y < h; y++)
                {
                    from.Slice((h - 1 - y) * row, row).CopyTo(destination.AsSpan(y * row, row));
                }

                _camera = RgbImage.FromPixels(source.Width, source.Height, destination);
            }

            return _camera;
        }
    }

    /// <summary>
    /// The agent view rotated 180° (<c>[::-1, ::-1]</c>): the orientation of the model input (before its JPEG
    /// round-trip), which Magma's and OpenVLA's evaluation scripts save as videos. Mirrored left to right against
    /// <see cref="CameraView"/>. Computed once.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The observation was disposed.</exception>
    public RgbImage RotatedAgentView
    {
        get
        {
            ThrowIfDisposed();
            if (_rotated is null)
            {
                RgbImage source = _agentView!;
                _rotated = LiberoFrame.Rotate180(source, RentFor(2, source.Span.Length));
            }

            return _rotated;
        }
    }

    /// <summary>
    /// The agent view after the reference's transform (spec §6.2: 180° rotation, JPEG round-trip, 256×256): what
    /// the Magma policy sees. Computed once.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The observation was disposed.</exception>
    public RgbImage ModelFrame
    {
        get
        {
            ThrowIfDisposed();
            return _modelFrame ??= LiberoFrame.Prepare(_agentView!, RentFor(3, LiberoFrame.FrameSize * LiberoFrame.FrameSize * 3));
        }
    }

    /// <summary>
    /// Gives the frame buffers back to the environment for reuse. Idempotent; see the remarks for what must not be
    /// used afterwards.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        byte[]?[]? rented = _rented;
        _rented = null;
        _agentView = _wristView = _camera = _rotated = _modelFrame = null;
        if (rented is not null)
        {
            foreach (byte[]? array in rented)
            {
                _pool!.Return(array);
            }
        }
    }

    private byte[] RentFor(int slot, int length)
    {
        if (_pool is null)
        {
            return GC.AllocateUninitializedArray<byte>(length);
        }

        byte[] array = _pool.Rent(length);
        _rented![slot] = array;
        return array;
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new ObjectDisposedException(
                nameof(LiberoObservation),
                "This observation was disposed and its frame buffers were handed back for reuse; read frames before disposing it, or copy them.");
        }
    }

    private static byte[] ArrayOf(RgbImage image) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(image.Pixels, out ArraySegment<byte> segment) && segment.Array is not null
            ? segment.Array
            : throw new InvalidOperationException("A pooled frame must wrap a whole array.");
}

/// <summary>The result of one <c>env.step</c>.</summary>
/// <param name="Observation">The observation after the step.</param>
/// <param name="Reward">The reward LIBERO returned.</param>
/// <param name="Done">LIBERO's <c>done</c>, which is task success (the reference counts success on it).</param>
public sealed record LiberoStep(LiberoObservation Observation, double Reward, bool Done);
