using System.CommandLine;
using Magma.Inference;

namespace Magma.Cli.Commands;

/// <summary>The options every command that runs the model shares.</summary>
internal sealed class ModelArguments
{
    public Option<string> Model { get; } = new("--model", "-m") { Description = "The model package folder (holds magma.json).", Required = true };

    /// <summary>Whether --model must be given (commands with model-free policies make it optional).</summary>
    public bool ModelRequired
    {
        get => Model.Required;
        init => Model.Required = value;
    }

    public Option<bool> Cuda { get; } = new("--cuda") { Description = "Run on the GPU with ONNX Runtime's CUDA provider (needs an NVIDIA driver R580+ and the CUDA 13 runtime)." };

    public Option<int> MaxTokens { get; }

    public ModelArguments(int defaultMaxTokens)
    {
        MaxTokens = new("--max-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => defaultMaxTokens };
        MaxTokens.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1)
            {
                r.AddError("--max-tokens must be at least 1.");
            }
        });
    }

    public void AddTo(Command command, bool maxTokens = true)
    {
        command.Options.Add(Model);
        command.Options.Add(Cuda);
        if (maxTokens)
        {
            command.Options.Add(MaxTokens);
        }
    }

    public MagmaModel Load(ParseResult parse)
    {
        bool cuda = parse.GetValue(Cuda);
        if (cuda)
        {
            CudaProvider.EnsureBundled();
        }

        return MagmaModel.Load(parse.GetRequiredValue(Model), new MagmaModelOptions { Device = cuda ? MagmaDevice.Cuda : MagmaDevice.Cpu });
    }
}
