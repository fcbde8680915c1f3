namespace Magma.Tasks.Decoding;

/// <summary>
/// Rotation conversions used by SimplerEnv's action post-processing.
/// </summary>
public static class RotationConversion
{
    /// <summary>
    /// Converts static-frame x-y-z Euler angles (transforms3d <c>euler2axangle</c> with axes <c>'sxyz'</c>,
    /// i.e. R = Rz(yaw)·Ry(pitch)·Rx(roll)) to a unit axis and an angle in [0, 2π].
    /// A (near-)identity rotation gives axis (1, 0, 0) and angle 0, as the reference does.
    /// </summary>
    public static (double X, double Y, double Z, double Angle) EulerToAxisAngle(double roll, double pitch, double yaw)
    {
        // Quaternion of the composed rotation, w first.
        double ci = Math.Cos(roll / 2), si = Math.Sin(roll / 2);
        double cj = Math.Cos(pitch / 2), sj = Math.Sin(pitch / 2);
        double ck = Math.Cos(yaw / 2), sk = Math.Sin(yaw / 2);
        double cc = ci * ck, cs = ci * sk, sc = si * ck, ss = si * sk;
        double w = (cj * cc) + (sj * ss);
        double x = (cj * sc) - (sj * cs);
        double y = (cj * ss) + (sj * cc);
        double z = (cj * cs) - (sj * sc);

        double norm2 = (w * w) + (x * x) + (y * y) + (z * z);
        if (!double.IsFinite(norm2))
        {
            return (1, 0, 0, double.NaN);
        }

        const double epsilon = 2.220446049250313e-16;
        if (norm2 < epsilon * epsilon)
        {
            return (1, 0, 0, 0);
        }

        if (norm2 != 1)
        {
            double n = Math.Sqrt(norm2);
            w /= n;
            x /= n;
            y /= n;
            z /= n;
        }

        // transforms3d treats vectors shorter than 3 float64 epsilons as the identity rotation.
        const double identityThreshold = 3 * epsilon;
        double len2 = (x * x) + (y * y) + (z * z);
        if (len2 < identityThreshold * identityThreshold)
        {
            return (1, 0, 0, 0);
        }

        double angle = 2 * Math.Acos(Math.Clamp(w, -1, 1));
        double len = Math.Sqrt(len2);
        return (x / len, y / len, z / len, angle);
    }
}
