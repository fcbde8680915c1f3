using Microsoft.ML.OnnxRuntime;

namespace Magma.Inference.Onnx;

/// <summary>Creates ONNX Runtime sessions for one device and turns ORT failures into errors a user can act on.</summary>
internal static class SessionFactory
{
    private const string CudaProvider = "CUDAExecutionProvider";

    public static InferenceSession Create(string path, MagmaModelOptions options)
    {
        string file = Path.GetFileName(path);
        using var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.IntraOpThreads > 0)
        {
            so.IntraOpNumThreads = options.IntraOpThreads;
            so.InterOpNumThreads = 1;
            // Spinning threads burn cores between steps; with an explicit thread count the caller wants quiet cores.
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        if (options.Device == MagmaDevice.Cuda)
        {
            EnsureCudaAvailable();
            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(new Dictionary<string, string>
                {
                    ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    // TF32 rounds fp32 matmul inputs to 10-bit mantissas: fine for speed, fatal for fp32 parity with the
                    // reference. fp16 packages use tensor cores regardless.
                    ["use_tf32"] = "0",
                });
                so.AppendExecutionProvider_CUDA(cuda);
            }
            catch (OnnxRuntimeException ex)
            {
                throw CudaMissing(ex.Message, ex);
            }
        }

        try
        {
            return new InferenceSession(path, so);
        }
        catch (OnnxRuntimeException ex) when (options.Device == MagmaDevice.Cuda && ex.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase))
        {
            throw CudaMissing(ex.Message, ex);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new MagmaPackageException($"{file}: ONNX Runtime cannot load this graph ({FirstLine(ex.Message)}). Re-export the package with tools/export.", ex);
        }
    }

    private static void EnsureCudaAvailable()
    {
        string[] providers = OrtEnv.Instance().GetAvailableProviders();
        if (!providers.Contains(CudaProvider, StringComparer.Ordinal))
        {
            throw CudaMissing(
                $"this ONNX Runtime build offers only {string.Join(", ", providers)}; reference Microsoft.ML.OnnxRuntime.Gpu", null);
        }
    }

    private static InvalidOperationException CudaMissing(string detail, Exception? inner) =>
        new($"MagmaModelOptions.Device = Cuda, but the CUDA execution provider cannot start: {FirstLine(detail)}. " +
            "It needs an NVIDIA GPU with driver R580 or newer and the CUDA 13 runtime (libcudart.so.13, libcublas.so.13, " +
            "libcublasLt.so.13, libcurand.so.10) on the library path. Device = MagmaDevice.Cpu works without any of these.", inner);

    internal static string FirstLine(string message)
    {
        int nl = message.IndexOf('\n', StringComparison.Ordinal);
        return (nl < 0 ? message : message[..nl]).Trim();
    }
}
