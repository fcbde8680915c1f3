// Magma.Demo: the UI-grounding path of Magma, end to end, on what runs without model weights.
//
//   dotnet run --project samples/Magma.Demo -c Release [-- [screenshot.png] [--model PACKAGE_DIR] [--cuda]]  (--help: Usage below)
//
// 1. takes a screenshot (the given file, or a login page drawn here),
// 2. overlays Set-of-Mark boxes the way Magma's UI agent does,
// 3. pre-processes the marked image exactly as MagmaImageProcessor (anyres crops),
// 4. renders and tokenizes the grounding prompt with the LLaMA-3 chat template,
// 5. turns an answer in Magma's format into a click target on the screenshot,
// 6. runs the whole request through the ONNX Runtime engine: the given model package (an exported Magma-8B), or
//    the repository's tiny random-weight Magma, whose answer is noise but travels the real path end to end.
using System.Diagnostics;
using Magma.Demo;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;
using Magma.Tasks;
using Magma.Tasks.Decoding;
using Magma.Tasks.Marks;
using Magma.Samples;

const string Usage = """
    Magma demo: the UI-grounding path of the engine, step by step (Set-of-Mark, pre-processing, prompt tokens, an
    answer parsed into a click target, then one real request through the ONNX Runtime engine).

    Usage: dotnet run --project samples/Magma.Demo -c Release -- [screenshot] [options]
      screenshot      a PNG/JPEG screenshot to mark (default: a login page drawn by the demo).
      --model DIR     an exported Magma ONNX package. Without it: the repository's tiny random-weight model, whose
                      answer is noise (the path is real).
      --out DIR       where the marked screenshot goes (default out/demo).
      --cuda          run on the GPU.
      --help          this text.

    Exit codes: 0 done, 1 error (model package, image file, device), 2 usage, 130 cancelled (Ctrl+C).
    """;

return await SampleCommandLine.RunAsync(
    "demo", Usage, args, valueOptions: ["--model", "--out"], flags: ["--cuda"], positional: true,
    async (line, ct) =>
{

    string? modelArg = line.Value("--model");
    bool cuda = line.Flag("--cuda");
    IReadOnlyList<string> files = line.Positional;
    if (files.Count > 1)
    {
        throw new SampleUsageException($"one screenshot at most, not {files.Count} ({string.Join(", ", files)}).");
    }

    string tinyPackageDir = Path.Combine(AppContext.BaseDirectory, "tiny-magma");
    if (modelArg is not null)
    {
        // Check the whole package before the steps that read parts of it (the tokenizer in step 4).
        _ = Magma.Inference.Package.MagmaPackage.Open(modelArg);
    }

    string tokenizerDir = modelArg ?? tinyPackageDir;
    string outputDir = Path.GetFullPath(line.Value("--out") ?? Path.Combine("out", "demo"));
    Directory.CreateDirectory(outputDir);

    // 1. The screenshot and its candidate boxes (OmniParser's role in the reference agent).
    (RgbImage screenshot, IReadOnlyList<MarkBox> candidates, string source) = files.Count > 0
        ? (RgbImage.Load(files[0]), DemoScreens.GridCandidates(RgbImage.Load(files[0])), files[0])
        : DemoScreens.LoginPage();
    Console.WriteLine($"screenshot   {source}: {screenshot.Width}x{screenshot.Height}, {candidates.Count} candidate boxes");

    // 2. Set-of-Mark overlay.
    SetOfMarkResult marked = new SetOfMarkRenderer().Draw(screenshot, candidates);
    string markedPath = Path.Combine(outputDir, "set-of-mark.png");
    File.WriteAllBytes(markedPath, marked.EncodePng());
    Console.WriteLine($"set-of-mark  {marked.Marks.Count} marks drawn -> {markedPath}");

    // 3. Pre-processing (allocation-free into a caller buffer).
    var preprocessor = new ImagePreprocessor(PreprocessorConfig.Default);
    CropGrid grid = preprocessor.SelectGrid(marked.Image.Width, marked.Image.Height);
    var pixels = new float[preprocessor.GetPixelCount(grid)];
    var clock = Stopwatch.StartNew();
    preprocessor.Preprocess(marked.Image, pixels);
    double preprocessMs = clock.Elapsed.TotalMilliseconds;
    Console.WriteLine($"pixels       grid {grid.Rows}x{grid.Cols} = {grid.CropCount} crops of 512x512 -> pixel_values [{grid.CropCount}, 3, 512, 512] " +
                      $"in {preprocessMs:F1} ms; {preprocessor.ImageTokenCount(grid)} image embeddings");

    // 4. The grounding prompt, as the reference agent writes it.
    var tokenizer = MagmaTokenizer.Load(tokenizerDir);
    const string Instruction = "Sign in";
    IReadOnlyList<ChatTurn> chat = MagmaPrompts.Conversation(MagmaPrompts.UiClick(Instruction, useImageStartEnd: true));
    string prompt = ChatTemplate.Llama3.Render(chat);
    int[] ids = ChatTemplate.Llama3.Encode(chat, tokenizer);
    int imageAt = Array.IndexOf(ids, tokenizer.ImageTokenId);
    Console.WriteLine($"prompt       {ids.Length} tokens (image placeholder at {imageAt}; the model sees {ids.Length - 1 + preprocessor.ImageTokenCount(grid)} positions)");
    Console.WriteLine($"             ids [{string.Join(", ", ids.Take(12))}, ...]");
    Console.WriteLine($"             {prompt.Replace("\n", "\\n", StringComparison.Ordinal)}");

    // 5. An answer in Magma's pretraining format (spec §7.2) -> click target.
    int targetMark = DemoScreens.MarkNear(marked, candidates.Count > 0 ? candidates[^1] : default);
    const string Answer = "Coordinate: (0.50, 0.62). Mark: {0}";
    string answer = string.Format(System.Globalization.CultureInfo.InvariantCulture, Answer, targetMark);
    var markBoxes = marked.Marks.ToDictionary(
        m => m.Key,
        m => new NormalizedBox(m.Value.X / screenshot.Width, m.Value.Y / screenshot.Height, m.Value.Right / screenshot.Width, m.Value.Bottom / screenshot.Height));
    DecodeResult<UiTarget> target = UiAnswerParser.ParseTarget(answer, screenshot.Width, screenshot.Height, markBoxes);
    Console.WriteLine(target.IsSuccess
        ? $"example      \"{answer}\" -> click at ({target.Value!.Pixel.X:F0}, {target.Value.Pixel.Y:F0}) px via {target.Value.Rule}"
        : $"example      \"{answer}\" could not be parsed: {target.FailureReason}");

    // 6. The engine: vision -> stitch + row separators -> merge -> prefill -> greedy decode, on the CPU (or --cuda).
    string packageDir = modelArg ?? tinyPackageDir;
    bool tiny = modelArg is null;
    clock.Restart();
    await using var model = MagmaModel.Load(packageDir, new MagmaModelOptions { Device = cuda ? MagmaDevice.Cuda : MagmaDevice.Cpu });
    double loadMs = clock.Elapsed.TotalMilliseconds;
    clock.Restart();
    DecodeResult<UiTarget> grounded = await model.GroundAsync(
        marked.Image, Instruction, markBoxes, new GenerationOptions { MaxNewTokens = 24, StopTokenIds = tiny ? [] : null }, ct);
    Console.WriteLine($"engine       {(tiny ? "tiny random-weight Magma (tests/assets/tiny-magma)" : packageDir)} on {(cuda ? "CUDA" : "CPU")}: loaded in {loadMs:F0} ms, " +
                      $"answered in {clock.Elapsed.TotalMilliseconds:F0} ms");
    Console.WriteLine(grounded.IsSuccess
        ? $"             \"{grounded.RawText}\" -> click at ({grounded.Value!.Pixel.X:F0}, {grounded.Value.Pixel.Y:F0}) px"
        : $"             \"{Shorten(grounded.RawText)}\" -> no target ({grounded.FailureReason})" +
          (tiny ? "\n             (random weights write noise; point --model at an exported Magma-8B for real answers)" : ""));
    return SampleCommandLine.Success;

    static string Shorten(string text) => text.Length <= 80 ? text.ReplaceLineEndings(" ") : text[..80].ReplaceLineEndings(" ") + "...";
});
