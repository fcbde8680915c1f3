namespace Magma.Inference;

/// <summary>
/// One step of <see cref="MagmaModel.Load"/>: opening the package, creating a graph's session, or warming up one shape
/// (<see cref="MagmaModel.LoadStages"/>). Stages that ran side by side overlap in time, so their sum can exceed
/// <see cref="MagmaModel.LoadTime"/>.
/// </summary>
/// <param name="Name">What ran, e.g. "session decoder", "warm-up vision 4 crops", "warm-up decode step 2".</param>
/// <param name="Elapsed">Wall-clock time of this stage alone.</param>
/// <param name="DeviceBytesInUse">
/// CUDA only: memory in use on the whole GPU when the stage ended (total minus free, so other processes count too); null
/// on the CPU.
/// </param>
public sealed record MagmaLoadStage(string Name, TimeSpan Elapsed, long? DeviceBytesInUse);
