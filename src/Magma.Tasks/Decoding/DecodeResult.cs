using System.Diagnostics.CodeAnalysis;

namespace Magma.Tasks.Decoding;

/// <summary>
/// The outcome of turning model output into a typed value: either the value, or the reason the output
/// could not be understood together with the raw output. Malformed model output is an expected event
/// (sampling, small models, prompts the model was not trained on), so parsers report it here instead of
/// throwing.
/// </summary>
/// <typeparam name="T">The typed value produced on success.</typeparam>
public sealed class DecodeResult<T> where T : class
{
    internal DecodeResult(T? value, string? failureReason, string rawText)
    {
        Value = value;
        FailureReason = failureReason;
        RawText = rawText;
    }

    /// <summary>The decoded value; <see langword="null"/> when <see cref="IsSuccess"/> is false.</summary>
    public T? Value { get; }

    /// <summary>Why the output could not be decoded; <see langword="null"/> on success.</summary>
    public string? FailureReason { get; }

    /// <summary>
    /// The model output the result was made from (for token-id decoders, the ids written as a list),
    /// possibly shortened when it was too long to keep.
    /// </summary>
    public string RawText { get; }

    /// <summary>True when <see cref="Value"/> holds a decoded value.</summary>
    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(FailureReason))]
    public bool IsSuccess => Value is not null;

    /// <inheritdoc />
    public override string ToString() =>
        IsSuccess ? $"Decoded: {Value}" : $"Unparseable ({FailureReason}): {RawText}";
}

/// <summary>Factories for <see cref="DecodeResult{T}"/>; kept off the generic type so callers never need type arguments.</summary>
internal static class DecodeResult
{
    // Raw text is kept for diagnostics; a 100 KB answer should not be copied into every log line.
    internal const int MaxKeptRawLength = 4096;

    internal static DecodeResult<T> Success<T>(T value, string rawText) where T : class =>
        new(value, null, Shorten(rawText));

    internal static DecodeResult<T> Failure<T>(string reason, string rawText) where T : class =>
        new(null, reason, Shorten(rawText));

    private static string Shorten(string text) =>
        text.Length <= MaxKeptRawLength ? text : string.Concat(text.AsSpan(0, MaxKeptRawLength), "…");
}
