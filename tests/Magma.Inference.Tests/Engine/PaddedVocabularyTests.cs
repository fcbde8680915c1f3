using System.Diagnostics;
using Magma.Inference.Generation;
using Magma.Inference.Onnx;

namespace Magma.Inference.Tests.Engine;

/// <summary>
/// tools/export/pad_vocab.py: the tiny package with its (tied) LM head padded from 128,263 to 128,264 columns and the
/// logits sliced back in the graph. The padded package must be the same model to every caller: logits of the real
/// width and values, the device choice under a token set, greedy, constrained, sampled and batched tokens.
/// </summary>
[Collection(TinyMagmaGroup.Name)]
public sealed class PaddedVocabularyTests(TinyMagmaFixture fixture, PaddedVocabularyTests.PaddedPackage padded) : IClassFixture<PaddedVocabularyTests.PaddedPackage>
{
    private readonly MagmaModel _model = fixture.Model;

    [Fact]
    public void The_head_matrix_is_padded_and_the_logits_keep_the_real_vocabulary()
    {
        Assert.Contains("[32, 128263] -> [32, 128264]", padded.Log, StringComparison.Ordinal);
        Assert.Contains("lm_head.data", padded.Model.Package.Manifest.WeightsFiles);
        Assert.Equal([-1, 1, 128263], padded.Model.Engine.Sessions.Decoder.OutputMetadata["logits"].Dimensions);
        Assert.Equal(128263, padded.Model.Package.Manifest.Decoder.VocabSize);
    }

    [Fact]
    public void First_logits_and_the_device_choice_are_those_of_the_unpadded_head()
    {
        foreach (MagmaRequest r in BatchedPrefillTests.Mix(_model.UseImageStartEnd))
        {
            int[] ids = _model.Engine.Tokenize(r.Turns);
            (float[] logits, int choice, int restricted) = First(_model, ids, r);
            (float[] paddedLogits, int paddedChoice, int paddedRestricted) = First(padded.Model, ids, r);
            double err = TinyMagma.RelativeError(paddedLogits, logits);
            Assert.True(err < 1e-5, $"first logits differ by {err:E2}");
            Assert.Equal((choice, restricted), (paddedChoice, paddedRestricted));
        }
    }

    [Fact]
    public async Task Greedy_constrained_sampled_and_batched_tokens_are_unchanged()
    {
        var action = new ActionTokenConstraint(128000, 128009);
        MagmaRequest[] mix = BatchedPrefillTests.Mix(_model.UseImageStartEnd);
        foreach (GenerationOptions options in new[]
        {
            new GenerationOptions { MaxNewTokens = 10, StopTokenIds = [] },
            new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action] },
            new GenerationOptions { MaxNewTokens = 6, StopTokenIds = [], DoSample = true, Seed = 5, Temperature = 0.8f, TopK = 50 },
        })
        {
            MagmaRequest[] requests = [.. mix.Select(r => new MagmaRequest { Turns = r.Turns, Images = r.Images, Options = options })];
            IReadOnlyList<MagmaResponse> batch = await padded.Model.GenerateBatchAsync(requests);
            for (int i = 0; i < requests.Length; i++)
            {
                IReadOnlyList<int> expected = (await _model.GenerateAsync(requests[i])).TokenIds;
                Assert.Equal(expected, (await padded.Model.GenerateAsync(requests[i])).TokenIds);
                Assert.Equal(expected, batch[i].TokenIds);
            }
        }
    }

    /// <summary>The first logits row, the graph's free choice and its choice among the action tokens (token_bias).</summary>
    private static (float[] Logits, int Choice, int Restricted) First(MagmaModel model, int[] ids, MagmaRequest r)
    {
        using NativeBuffer embeds = model.Engine.BuildEmbeddings(ids, r.Images, out int length, out _);
        using DecodeContext context = model.Engine.Sessions.BeginDecode(length + 1);
        context.Prefill(embeds, length);
        float[] logits = context.CurrentLogits.ToArray();
        int choice = context.SelectedToken;
        using DecodeContext restricted = model.Engine.Sessions.BeginDecode(length + 1);
        restricted.RestrictTokens([.. Enumerable.Range(128000 - 256, 256)]);
        restricted.Prefill(embeds, length);
        Assert.InRange(restricted.SelectedToken, 128000 - 256, 127999);
        return (logits, choice, restricted.SelectedToken);
    }

    /// <summary>The tiny package padded by tools/export/pad_vocab.py into a temporary folder, and loaded.</summary>
    public sealed class PaddedPackage : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "magma-pad-vocab-tests", Guid.NewGuid().ToString("N"));

        public PaddedPackage()
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in (string[])[Path.Combine(AppContext.BaseDirectory, "export", "pad_vocab.py"), "--package", TinyMagma.Directory, "--out", _dir])
            {
                start.ArgumentList.Add(a);
            }

            start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            using Process process = Process.Start(start)!;
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            string errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Log = output.Result + errors;
            Assert.True(process.ExitCode == 0, Log);
            Model = MagmaModel.Load(_dir, new MagmaModelOptions { IntraOpThreads = 1 });
        }

        internal string Log { get; }

        internal MagmaModel Model { get; }

        public void Dispose()
        {
            Model.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}
