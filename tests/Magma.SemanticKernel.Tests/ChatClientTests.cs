using System.Diagnostics;
using System.Diagnostics.Metrics;
using Magma.Inference;
using Magma.Inference.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel.ChatCompletion;

namespace Magma.SemanticKernel.Tests;

/// <summary>MagmaChatClient as a Microsoft.Extensions.AI client, its registration and its telemetry.</summary>
[Collection(TinyKernelGroup.Name)]
public sealed class ChatClientTests(TinyKernelFixture fx)
{
    private static ChatMessage UserWithImage(int seed, string text = "What is this?") =>
        new(ChatRole.User, [new DataContent(TinyKernelFixture.Picture(seed).EncodePng(), "image/png"), new TextContent(text)]);

    [Fact]
    public void Metadata_and_GetService_expose_provider_model_and_package()
    {
        var metadata = fx.Client.GetService<ChatClientMetadata>()!;

        Assert.Equal("magma-onnx", metadata.ProviderName);
        Assert.Equal("magma-agents/tiny-magma-random", metadata.DefaultModelId);
        Assert.Equal(new Uri(TinyKernelFixture.PackageDirectory + "/"), metadata.ProviderUri);
        Assert.Same(fx.Model, fx.Client.GetService<MagmaModel>());
        Assert.NotNull(fx.Client.GetService<MagmaChatClient>());
    }

    [Fact]
    public async Task Streaming_ends_with_usage_and_finish_reason_and_matches_the_response()
    {
        var options = new ChatOptions { MaxOutputTokens = 10 };
        ChatResponse response = await fx.Client.GetResponseAsync([UserWithImage(31)], options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate u in fx.Client.GetStreamingResponseAsync([UserWithImage(31)], options))
        {
            updates.Add(u);
        }

        ChatResponseUpdate last = updates[^1];
        UsageContent usage = Assert.Single(last.Contents.OfType<UsageContent>());
        Assert.Equal(ChatFinishReason.Length, last.FinishReason);
        Assert.Equal(10, usage.Details.OutputTokenCount);
        Assert.Equal(response.Usage!.InputTokenCount, usage.Details.InputTokenCount);
        Assert.True(usage.Details.AdditionalCounts!["magma.image_tokens"] > 0);
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        Assert.Equal(response.Text, updates.ToChatResponse().Text);
    }

    [Fact]
    public async Task Action_constraint_through_AdditionalProperties_gives_seven_action_tokens_and_eos()
    {
        var options = new ChatOptions { AdditionalProperties = new() { [MagmaChatOptionKeys.ActionConstraint] = true } };

        ChatResponse response = await fx.Client.GetResponseAsync([UserWithImage(32, "What action should the robot take to open the drawer?")], options);

        var raw = Assert.IsType<MagmaResponse>(response.RawRepresentation);
        int firstAction = fx.Model.Package.Manifest.Tokens.BaseVocabSize - 256;
        Assert.Equal(8, raw.TokenIds.Count);
        Assert.All(raw.TokenIds.Take(7), id => Assert.InRange(id, firstAction, firstAction + 255));
        Assert.Equal(fx.Model.Package.Manifest.Tokens.Eos[0], raw.TokenIds[7]);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task Options_magma_cannot_honour_fail_loudly()
    {
        await Assert.ThrowsAsync<NotSupportedException>(() => fx.Client.GetResponseAsync("hi", new ChatOptions { FrequencyPenalty = 0.5f }));
        await Assert.ThrowsAsync<NotSupportedException>(() => fx.Client.GetResponseAsync("hi", new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        var tool = new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c", "x")]);
        var roleError = await Assert.ThrowsAsync<NotSupportedException>(() => fx.Client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi"), tool]));
        Assert.Contains("tool", roleError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Raw_generation_options_are_used_as_given()
    {
        var options = new ChatOptions { MaxOutputTokens = 50, RawRepresentationFactory = _ => new GenerationOptions { MaxNewTokens = 2, StopTokenIds = [] } };

        ChatResponse response = await fx.Client.GetResponseAsync([UserWithImage(33)], options);

        Assert.Equal(2, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Keyed_registrations_share_one_model_per_key_and_the_container_disposes_it()
    {
        var collection = new ServiceCollection()
            .AddMagmaChatCompletion(TinyKernelFixture.PackageDirectory, TinyKernelFixture.ModelOptions, o => o.ModelId = "a", serviceId: "a");
        collection.AddMagmaChatClient(TinyKernelFixture.PackageDirectory, MagmaDevice.Cpu, serviceId: "b");
        var services = collection.BuildServiceProvider();
        MagmaModel modelA = services.GetRequiredKeyedService<MagmaModel>("a");
        IChatClient clientA = services.GetRequiredKeyedService<IChatClient>("a");
        IChatCompletionService chatA = services.GetRequiredKeyedService<IChatCompletionService>("a");

        Assert.Same(modelA, clientA.GetService<MagmaModel>());
        Assert.Same(modelA, services.GetRequiredKeyedService<MagmaModel>("a"));
        Assert.NotSame(modelA, services.GetRequiredKeyedService<IChatClient>("b").GetService<MagmaModel>());
        Assert.Equal("a", chatA.Attributes["ModelId"]);
        Assert.Null(services.GetService<IChatClient>());
        ChatResponse ok = await clientA.GetResponseAsync("hi", new ChatOptions { MaxOutputTokens = 2 });
        Assert.Equal("a", ok.ModelId);

        await services.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => modelA.GenerateAsync(MagmaRequest.Ask(null, "hi")));
    }

    [Fact]
    public async Task Telemetry_emits_magma_agents_spans_request_tokens_and_stage_times()
    {
        var measurements = new List<(string Name, double Value, string? Tag)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MagmaTelemetry.SourceName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? tag = null;
            foreach (KeyValuePair<string, object?> t in tags)
            {
                tag ??= t.Key is "magma.stage" or "magma.token.type" ? t.Value as string : null;
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, value, tag));
            }
        }

        meters.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        meters.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        meters.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        meters.Start();
        var spans = new List<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == MagmaTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (spans) { spans.Add(a); } },
        };
        ActivitySource.AddActivityListener(activities);

        await fx.Client.GetResponseAsync([UserWithImage(34)], new ChatOptions { MaxOutputTokens = 4 });

        lock (measurements)
        {
            Assert.Contains(measurements, m => m is { Name: MagmaTelemetry.StageDurationMetric, Tag: "vision" } && m.Value > 0);
            Assert.Contains(measurements, m => m is { Name: MagmaTelemetry.StageDurationMetric, Tag: "prefill" } && m.Value > 0);
            Assert.Contains(measurements, m => m is { Name: MagmaTelemetry.StageDurationMetric, Tag: "decode" } && m.Value > 0);
            Assert.Contains(measurements, m => m is { Name: MagmaTelemetry.RequestDurationMetric } && m.Value > 0);
            Assert.Contains(measurements, m => m is { Name: MagmaTelemetry.TokensMetric, Tag: "output", Value: 4 });
            Assert.Contains(measurements, m => m.Name == "gen_ai.client.operation.duration");
        }

        lock (spans)
        {
            Activity generate = Assert.Single(spans, a => a.OperationName == "magma.generate");
            Assert.Equal(4, generate.GetTagItem("gen_ai.usage.output_tokens"));
            Activity chat = Assert.Single(spans, a => a.GetTagItem("gen_ai.operation.name") as string == "chat");
            Assert.Equal(chat.SpanId, generate.ParentSpanId);
        }
    }
}
