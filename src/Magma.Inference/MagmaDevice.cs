namespace Magma.Inference;

/// <summary>Where the ONNX graphs run.</summary>
public enum MagmaDevice
{
    /// <summary>ONNX Runtime's CPU execution provider; always available, right for tests and tiny models.</summary>
    Cpu = 0,

    /// <summary>ONNX Runtime's CUDA execution provider; needs an NVIDIA GPU and the CUDA 13 runtime libraries.</summary>
    Cuda = 1,
}
