namespace Magma.Inference.Tests.Text;

internal static class TempDir
{
    public static string Create()
    {
        string dir = Path.Combine(Path.GetTempPath(), "magma-text-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
