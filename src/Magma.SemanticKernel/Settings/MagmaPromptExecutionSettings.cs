using System.Collections.ObjectModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.SemanticKernel;

namespace Magma.SemanticKernel;

/// <summary>
/// Semantic Kernel settings for Magma. The standard keys (<c>temperature</c>, <c>top_p</c>, <c>top_k</c>,
/// <c>max_tokens</c>, <c>stop_sequences</c>, <c>seed</c>) become the matching <c>ChatOptions</c> fields; the Magma keys
/// (<c>action_constraint</c>, <c>do_sample</c>, <c>video_frames</c>, <c>video_max_crops_per_frame</c>) arrive in <c>ChatOptions.AdditionalProperties</c>
/// (<see cref="MagmaChatOptionKeys"/>). A plain <see cref="PromptExecutionSettings"/> with the same keys in
/// <c>ExtensionData</c> (e.g. from a prompt template's YAML) works the same way.
/// </summary>
[JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
public sealed class MagmaPromptExecutionSettings : PromptExecutionSettings
{
    private float? _temperature;
    private float? _topP;
    private int? _topK;
    private int? _maxTokens;
    private IList<string>? _stopSequences;
    private long? _seed;
    private bool? _actionConstraint;
    private bool? _doSample;
    private int? _videoFrames;
    private int? _videoMaxCropsPerFrame;

    /// <summary>Softmax temperature; above 0 samples, 0 or null decodes greedily (unless <see cref="DoSample"/> says otherwise).</summary>
    [JsonPropertyName("temperature")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public float? Temperature { get => _temperature; set { ThrowIfFrozen(); _temperature = value; } }

    /// <summary>Nucleus filter mass in (0, 1] when sampling.</summary>
    [JsonPropertyName("top_p")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public float? TopP { get => _topP; set { ThrowIfFrozen(); _topP = value; } }

    /// <summary>Keep the k most likely tokens when sampling (0 turns the filter off; null is Hugging Face's 50).</summary>
    [JsonPropertyName("top_k")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? TopK { get => _topK; set { ThrowIfFrozen(); _topK = value; } }

    /// <summary>Most tokens to generate (the stop token included).</summary>
    [JsonPropertyName("max_tokens")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? MaxTokens { get => _maxTokens; set { ThrowIfFrozen(); _maxTokens = value; } }

    /// <summary>Strings that end the answer (not included in it).</summary>
    [JsonPropertyName("stop_sequences")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IList<string>? StopSequences { get => _stopSequences; set { ThrowIfFrozen(); _stopSequences = value; } }

    /// <summary>Sampler seed: the same seed gives the same answer.</summary>
    [JsonPropertyName("seed")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Seed { get => _seed; set { ThrowIfFrozen(); _seed = value; } }

    /// <summary>Constrain the answer to one 7-DoF robot action (seven action tokens, then the stop token).</summary>
    [JsonPropertyName(MagmaChatOptionKeys.ActionConstraint)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? ActionConstraint { get => _actionConstraint; set { ThrowIfFrozen(); _actionConstraint = value; } }

    /// <summary>Sample (true) or decode greedily (false), whatever the temperature.</summary>
    [JsonPropertyName(MagmaChatOptionKeys.DoSample)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? DoSample { get => _doSample; set { ThrowIfFrozen(); _doSample = value; } }

    /// <summary>Frames per video in the chat (uniform sampling); null: as many as fit, at most 32.</summary>
    [JsonPropertyName(MagmaChatOptionKeys.VideoFrames)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? VideoFrames { get => _videoFrames; set { ThrowIfFrozen(); _videoFrames = value; } }

    /// <summary>Most crops per video frame; null: 1 (Magma's video training).</summary>
    [JsonPropertyName(MagmaChatOptionKeys.VideoMaxCropsPerFrame)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? VideoMaxCropsPerFrame { get => _videoMaxCropsPerFrame; set { ThrowIfFrozen(); _videoMaxCropsPerFrame = value; } }

    /// <inheritdoc />
    public override void Freeze()
    {
        if (IsFrozen)
        {
            return;
        }

        base.Freeze();
        if (_stopSequences is not null)
        {
            _stopSequences = new ReadOnlyCollection<string>([.. _stopSequences]);
        }
    }

    /// <inheritdoc />
    public override PromptExecutionSettings Clone() => new MagmaPromptExecutionSettings
    {
        ServiceId = ServiceId,
        ModelId = ModelId,
        FunctionChoiceBehavior = FunctionChoiceBehavior,
        ExtensionData = ExtensionData is null ? null : new Dictionary<string, object>(ExtensionData),
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MaxTokens = MaxTokens,
        StopSequences = StopSequences is null ? null : [.. StopSequences],
        Seed = Seed,
        ActionConstraint = ActionConstraint,
        DoSample = DoSample,
        VideoFrames = VideoFrames,
        VideoMaxCropsPerFrame = VideoMaxCropsPerFrame,
    };

    /// <summary>
    /// Returns <paramref name="settings"/> if it is already Magma's, otherwise a copy read through JSON (so snake_case
    /// keys in <c>ExtensionData</c> land on the typed properties); a new default instance for null.
    /// </summary>
    public static MagmaPromptExecutionSettings FromExecutionSettings(PromptExecutionSettings? settings)
    {
        switch (settings)
        {
            case null:
                return new MagmaPromptExecutionSettings();
            case MagmaPromptExecutionSettings magma:
                return magma;
            default:
                string json = JsonSerializer.Serialize(settings);
                MagmaPromptExecutionSettings copy = JsonSerializer.Deserialize<MagmaPromptExecutionSettings>(json)
                    ?? throw new ArgumentException("The settings serialised to JSON null.", nameof(settings));
                copy.ServiceId = settings.ServiceId;
                copy.ModelId = settings.ModelId;
                copy.FunctionChoiceBehavior = settings.FunctionChoiceBehavior;
                return copy;
        }
    }
}
