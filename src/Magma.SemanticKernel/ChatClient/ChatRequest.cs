using Magma.Inference;
using Magma.Inference.Video;

namespace Magma.SemanticKernel;

/// <summary>A built request and what it holds on to until it has run: pooled video frames, temporary video files.</summary>
internal sealed class ChatRequest(MagmaRequest request, VideoRequest? video, List<string> temporaryFiles) : IDisposable
{
    public MagmaRequest Request => request;

    public void Dispose()
    {
        video?.Dispose();
        Delete(temporaryFiles);
    }

    public static void Delete(List<string> files)
    {
        foreach (string f in files)
        {
            try
            {
                File.Delete(f);
            }
            catch (IOException)
            {
                // Best effort: a temporary file left in /tmp is not worth failing the answer for.
            }
        }

        files.Clear();
    }
}
