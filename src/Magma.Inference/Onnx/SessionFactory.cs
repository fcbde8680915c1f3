using Microsoft.ML.OnnxRuntime;

namespace Magma.Inference.Onnx;

/// <summary>Creates ONNX Runtime sessions for one device and turns ORT failures into errors a user can act on.</summary>
internal static class SessionFactory
{
    private const string CudaProvider = "CUDAExecutionProvider";

    /// <summary>Creates the session of one graph; <paramref name="role"/> picks the CUDA settings that graph wants.</summary>
    public static InferenceSession Create(string path, MagmaModelOptions options, GraphRole role = GraphRole.Other)
    {
        string file = Path.GetFileName(path);
        using var so = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // ORT warns on stderr about what the package does on purpose (token_bias is an input with a default, so it
            // is not constant-folded; some shape nodes stay on the CPU); failures still surface as exceptions.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        // The embedding table on the host beside CUDA graphs (MagmaModelOptions.EmbeddingOnCpu): a CPU session.
        bool onCuda = options.Device == MagmaDevice.Cuda && role != GraphRole.HostEmbed;
        // On CUDA the host runs only shape arithmetic, and a host table looks up one row per step: one quiet thread is plenty.
        int threads = options.IntraOpThreads > 0 ? options.IntraOpThreads : options.Device == MagmaDevice.Cuda ? 1 : 0;
        if (threads > 0)
        {
            so.IntraOpNumThreads = threads;
            so.InterOpNumThreads = 1;
            // Spinning threads burn cores between steps; with an explicit thread count the caller wants quiet cores.
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        if (role == GraphRole.Vision && options.VisionProfilePrefix is not null)
        {
            // The prefix first: setting EnableProfiling passes the current prefix to ONNX Runtime.
            so.ProfileOutputPathPrefix = options.VisionProfilePrefix;
            so.EnableProfiling = true;
        }

        if (onCuda)
        {
            EnsureCudaAvailable();
            // Weights outside the BFC arena: the arena's power-of-two growth would otherwise round 16 GB of initializers up.
            so.AddSessionConfigEntry("session.use_device_allocator_for_initializers", "1");
            var settings = new Dictionary<string, string>
            {
                ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // TF32 rounds fp32 matmul inputs to 10-bit mantissas: fine for speed, fatal for fp32 parity with the
                // reference. fp16 packages use tensor cores regardless.
                ["use_tf32"] = "0",
                ["arena_extend_strategy"] = "kSameAsRequested",
            };
            if (role == GraphRole.Vision)
            {
                // Measured on the H200 (docs/perf.md, "Load time, memory and the decode profile"): NCHW convolutions with
                // cuDNN's heuristic choice are as fast as NHWC in fours (6.6-8.0 vs 9.4 ms per crop) and one crop (9.3-11.1
                // vs 10.6); the exhaustive search bought nothing measurable; DEFAULT (one fixed algorithm) runs the
                // depthwise 7x7 convolutions 60-250x slower.
                settings["prefer_nhwc"] = "0";
                settings["cudnn_conv_algo_search"] = options.ConvAlgoSearch;
                settings["cudnn_conv_use_max_workspace"] = options.EffectiveConvMaxWorkspace ? "1" : "0";
                if (options.VisionCudaGraphs)
                {
                    settings["enable_cuda_graph"] = "1";
                }

                foreach ((string key, string value) in options.VisionCudaOverrides ?? new Dictionary<string, string>())
                {
                    settings[key] = value;
                }
            }

            if (role == GraphRole.DecoderWithGraphs)
            {
                settings["enable_cuda_graph"] = "1";
            }

            if ((role is GraphRole.Decoder or GraphRole.DecoderWithGraphs) && options.GemmAutoTune)
            {
                // ORT 1.31: per-shape GEMM tuning (cuBLAS, a small-N GEMV and on Hopper the TMA tinygemm2) for the M = 1
                // matrix-vector products of a decode step; tuned in the runs before graph capture (warm-up).
                so.AddSessionConfigEntry("ep.cuda.enable_gemm_auto_tune", "1");
            }

            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(settings);
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
        catch (OnnxRuntimeException ex) when (onCuda && ex.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase))
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

/// <summary>Which graph a session runs, for the provider settings that differ between them.</summary>
internal enum GraphRole
{
    Other,
    Vision,
    Decoder,
    DecoderWithGraphs,

    /// <summary>embed.onnx on the CPU provider whatever the device (<see cref="MagmaModelOptions.EmbeddingOnCpu"/>).</summary>
    HostEmbed,
}
