namespace Magma.Inference.Video;

/// <summary>What the context budget chose for a video request.</summary>
/// <param name="FramesPerVideo">Frames shown per video (the last video's count when several differ).</param>
/// <param name="CropsPerFrame">Crops each frame gets (of the last video when several differ; 1 by default: 272 image embeddings at Magma-8B's 512² crops).</param>
/// <param name="PromptPositions">Positions the merged prompt fills: text ids plus image embeddings.</param>
/// <param name="ReservedOutputTokens">Positions kept free for the answer (the request's max new tokens).</param>
/// <param name="ContextLength">The model's <see cref="MagmaModel.ContextLength"/>.</param>
public sealed record VideoPlan(int FramesPerVideo, int CropsPerFrame, int PromptPositions, int ReservedOutputTokens, int ContextLength);
