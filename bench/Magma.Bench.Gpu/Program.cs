using System.Diagnostics;
using System.Runtime;
using System.Text.Json;
using System.Text.Json.Nodes;
using Magma.Inference;
using Magma.Inference.Generation;
using Magma.Inference.Imaging;
using Magma.Inference.Text;

// The .NET side of bench/gpu/run.sh (issue 7): times the engine on one package and writes
//   results.json  - medians and p90 of every measure, the load time, the greedy outputs;
//   inputs/       - the exact token ids and pre-processed pixels of the LIBERO and UI requests, so that
//                   bench/gpu/torch_reference.py runs PyTorch on the same inputs and the outputs can be compared.
//   logits_<name>.f32 - the first-step logits row of the LIBERO and UI prompts (fp16 vs int4 packages: bench/gpu/report.py).
// Usage: Magma.Bench.Gpu --model DIR [--device cuda|cpu] [--out DIR] [--inputs DIR] [--reps N] [--max-seq N] [--no-graphs]
//        [--only steps,vision,batched,arrivals,ttft,prefill,fresh,decode,parity] [--decode-contexts 1024,4096] [--no-inputs]
//        [--batch-sizes 1,4,8,16,32] [--rates 5,10,20,40,80,160] [--arrival-requests 96] [--max-batch 32]
//        load knobs (docs/perf.md, "Load time and memory"): [--conv-search EXHAUSTIVE|HEURISTIC|DEFAULT] [--conv-max-ws 0|1]
//        [--no-gemm-tune] [--serial-load] [--warm-crops 1,4] [--shrink-vision] [--release-vision-memory] [--vision-cuda KEY=VALUE]... [--vision-chunks 4,1]
//        [--profile-steps N]: N decode steps at 1k context inside cudaProfilerStart/Stop (ncu --profile-from-start off)
//        memory and load (issue 19): [--embed-cpu|--embed-gpu] (MagmaModelOptions.EmbeddingOnCpu; default: on for int4 on CUDA) [--background-warmup]
//        [--vision-all-crops] (MagmaModelOptions.VisionRunsAllCrops: num_crops crops per vision run instead of one on CUDA)
//        (WarmUpVisionInBackground: load_s is then "ready for text", ready_all_s "ready for images")
//        --only switch: single vision runs alternating 1 and 4 crops (each run changes every Conv node's input shape)
//        [--vision-profile N]: N vision runs of --vision-profile-crops crops (default 4) inside cudaProfilerStart/Stop
//        [--vision-graphs]: vision runs replayed as CUDA graphs (MagmaModelOptions.VisionCudaGraphs)
//        [--vision-ort-profile]: ONNX Runtime's profile of the vision session (JSON in --out; bench/gpu/vision_profile.py)
//        [--prefill-buckets off|new|always] [--no-warm-widths] [--warm-widths-up-to N]: padded prefills (MagmaModelOptions.PrefillBuckets; default: new on CUDA, off on the CPU)
var a = ArgsParser.Parse(args);
GCSettings.LatencyMode = GCLatencyMode.SustainedLowLatency;
Directory.CreateDirectory(a.Out);
Directory.CreateDirectory(a.Inputs);
var results = new JsonObject
{
    ["machine"] = Environment.MachineName,
    ["device"] = a.Device.ToString(),
    ["model"] = a.Model,
    ["date_utc"] = DateTime.UtcNow.ToString("u"),
    ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
};
var rows = new JsonArray();
results["rows"] = rows;

void Report(string name, string unit, List<double> values, JsonObject? extra = null)
{
    values.Sort();
    double median = values[values.Count / 2];
    double p90 = values[Math.Min(values.Count - 1, (int)Math.Ceiling(values.Count * 0.9) - 1)];
    var row = new JsonObject { ["name"] = name, ["unit"] = unit, ["median"] = Math.Round(median, 3), ["p90"] = Math.Round(p90, 3), ["n"] = values.Count };
    if (extra is not null)
    {
        foreach (var kv in extra)
        {
            row[kv.Key] = kv.Value?.DeepClone();
        }
    }

    rows.Add(row);
    Console.WriteLine($"{name,-48} median {median,9:F2} {unit}   p90 {p90,9:F2} {unit}   (n={values.Count})");
    File.WriteAllText(Path.Combine(a.Out, "results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}

static double Ms(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;

long t0 = Stopwatch.GetTimestamp();
var defaults = new MagmaModelOptions();
using MagmaModel model = MagmaModel.Load(a.Model, new MagmaModelOptions
{
    Device = a.Device,
    MaxSequenceLength = a.MaxSequence,
    CudaGraphs = a.Graphs,
    ConvAlgoSearch = a.ConvSearch ?? defaults.ConvAlgoSearch,
    ConvMaxWorkspace = a.ConvMaxWorkspace,
    GemmAutoTune = a.GemmTune,
    ParallelLoad = a.ParallelLoad,
    WarmUpCrops = a.WarmCrops,
    ShrinkVisionArena = a.ShrinkVision ? true : null,
    ReleaseVisionMemory = a.ReleaseVisionMemory,
    VisionCudaOverrides = a.VisionCuda,
    VisionBatchSizes = a.VisionChunks,
    EmbeddingOnCpu = a.EmbedCpu,
    VisionRunsAllCrops = a.VisionAllCrops,
    WarmUpVisionInBackground = a.BackgroundWarmUp,
    PrefillBuckets = a.PrefillBuckets,
    WarmPrefillBuckets = a.WarmWidths,
    WarmPrefillUpTo = a.WarmWidthsUpTo ?? defaults.WarmPrefillUpTo,
    VisionCudaGraphs = a.VisionGraphs,
    VisionProfilePrefix = a.VisionOrtProfile ? Path.Combine(Path.GetFullPath(a.Out), "ort-vision") : null,
});
results["load_s"] = Math.Round(Ms(t0) / 1000, 2);
results["load_model_s"] = Math.Round(model.LoadTime.TotalSeconds, 2);
if (!model.BackgroundWarmUp.IsCompleted)
{
    // What a text-only request costs while the vision shapes warm up beside it (it does not wait for them).
    long textStart = Stopwatch.GetTimestamp();
    MagmaResponse text = model.GenerateAsync(new MagmaRequest
    {
        Turns = MagmaPrompts.Conversation("Name a colour."), Options = new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [] },
    }).GetAwaiter().GetResult();
    results["text_request_during_background_warmup_ms"] = Math.Round(Ms(textStart), 1);
    results["text_request_during_background_warmup_tokens"] = text.TokenIds.Count;
    results["text_request_ended_before_warmup"] = !model.BackgroundWarmUp.IsCompleted;
    Console.WriteLine($"text request (16 tokens) during the background warm-up: {results["text_request_during_background_warmup_ms"]} ms");
}

model.BackgroundWarmUp.GetAwaiter().GetResult();
results["ready_all_s"] = Math.Round(Ms(t0) / 1000, 2);
Console.WriteLine($"ready for text after {results["load_s"]} s, for images after {results["ready_all_s"]} s");
results["load_options"] = new JsonObject
{
    ["conv_search"] = a.ConvSearch ?? defaults.ConvAlgoSearch,
    ["conv_max_workspace"] = a.ConvMaxWorkspace ?? !a.ReleaseVisionMemory,
    ["release_vision_memory"] = a.ReleaseVisionMemory,
    ["gemm_auto_tune"] = a.GemmTune,
    ["parallel_load"] = a.ParallelLoad,
    ["shrink_vision_arena"] = a.ShrinkVision,
    ["vision_chunks"] = a.VisionChunks is null ? "default" : string.Join(',', a.VisionChunks),
    ["vision_cuda"] = string.Join(',', a.VisionCuda.Select(kv => kv.Key + "=" + kv.Value)),
    ["warm_crops"] = a.WarmCrops is null ? "default" : string.Join(',', a.WarmCrops),
    ["embedding_on_cpu"] = model.Engine.Sessions.HostEmbedding,
    ["vision_runs_all_crops"] = a.VisionAllCrops,
    ["background_warmup"] = a.BackgroundWarmUp,
    ["max_seq"] = a.MaxSequence,
    ["prefill_buckets"] = model.Engine.Bucketing.ToString(),
    ["vision_cuda_graphs"] = a.VisionGraphs,
    ["warm_prefill_widths"] = a.WarmWidths ? $"up to {a.WarmWidthsUpTo ?? defaults.WarmPrefillUpTo}" : "none",
};
var stages = new JsonArray();
foreach (MagmaLoadStage stage in model.LoadStages)
{
    stages.Add(new JsonObject
    {
        ["name"] = stage.Name,
        ["s"] = Math.Round(stage.Elapsed.TotalSeconds, 3),
        ["device_gib"] = stage.DeviceBytesInUse is long b ? Math.Round(b / (double)(1L << 30), 2) : null,
    });
    Console.WriteLine($"  load stage {stage.Name,-32} {stage.Elapsed.TotalSeconds,8:F3} s   device in use {(stage.DeviceBytesInUse is long u ? $"{u / (double)(1L << 30):F2} GiB" : "-")}");
}

results["load_stages"] = stages;
var memory = new JsonObject();
results["device_gib_after"] = memory;
void Memory(string after)
{
    if (a.Device == MagmaDevice.Cuda && Magma.Inference.Onnx.CudaRuntime.TryDeviceBytesInUse() is long used)
    {
        memory[after] = Math.Round(used / (double)(1L << 30), 2);
        Console.WriteLine($"device memory in use after {after}: {used / (double)(1L << 30):F2} GiB");
    }
}

Memory("load");
results["quantization"] = model.Package.Manifest.Quantization?.ToString() ?? "none";
results["dtype"] = model.Package.Manifest.DType;
results["package_bytes"] = Directory.GetFiles(a.Model).Sum(f => new FileInfo(f).Length);
results["intra_op_threads"] = Environment.ProcessorCount;
results["cuda_graphs"] = model.Engine.Sessions.UsesCudaGraphs;
results["shared_kv"] = model.Engine.Sessions.SharedKv;
results["device_selection"] = model.Package.Manifest.Decoder.NextToken is not null;
Console.WriteLine($"loaded {a.Model} on {a.Device} in {results["load_s"]} s (graphs {results["cuda_graphs"]}, shared KV {results["shared_kv"]})");

MagmaEngine engine = model.Engine;
// LiberoFrame.FrameSize (the robotics plugin, which this engine-only harness does not reference).
const int LiberoFrameSize = 256;
bool startEnd = model.UseImageStartEnd;
int reps = a.Reps;
RgbImage frame = Images.Pattern(LiberoFrameSize, LiberoFrameSize, seed: 1);
RgbImage screenshot = Images.Pattern(1280, 720, seed: 2);
const string Task = "put the black bowl on the plate";
const string Click = "Click the search button in the top bar.";
var action = new ActionTokenConstraint(model.Package.Manifest.Tokens.BaseVocabSize, model.Package.Manifest.Tokens.Eos[0]);

MagmaRequest LiberoRequest(GenerationOptions options) =>
    new() { Images = [frame], Turns = MagmaPrompts.Conversation(MagmaPrompts.RobotAction(Task, startEnd)), Options = options };
MagmaRequest UiRequest(GenerationOptions options) =>
    new() { Images = [screenshot], Turns = MagmaPrompts.Conversation(MagmaPrompts.UiClick(Click, startEnd)), Options = options };

var liberoGreedy = new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action] };
var liberoSampled = new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [action], DoSample = true, Temperature = 0.7f, Seed = 7 };
var ui32 = new GenerationOptions { MaxNewTokens = 32, StopTokenIds = [] };

// --- inputs for PyTorch + greedy outputs for the agreement check -------------------------------------------------
if (a.DumpInputs)
{
    DumpInputs("libero", LiberoRequest(GenerationOptions.Greedy), frame);
    DumpInputs("ui", UiRequest(GenerationOptions.Greedy), screenshot);
    Memory("inputs");
}

File.WriteAllText(Path.Combine(a.Out, "results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

void DumpInputs(string name, MagmaRequest request, RgbImage image)
{
    int[] ids = engine.Tokenize(request.Turns);
    CropGrid grid = engine.Preprocessor.SelectGrid(image.Width, image.Height);
    float[] pixels = new float[engine.Preprocessor.GetPixelCount(grid)];
    grid = engine.Preprocessor.Preprocess(image, pixels);
    using (var f = File.Create(Path.Combine(a.Inputs, name + ".f32")))
    {
        f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()));
    }

    var first = new FirstLogits();
    model.GenerateAsync(new MagmaRequest { Images = request.Images, Turns = request.Turns, Options = new GenerationOptions { MaxNewTokens = 1, StopTokenIds = [], LogitsProcessors = [first] } }).GetAwaiter().GetResult();
    using (var f = File.Create(Path.Combine(a.Out, $"logits_{name}.f32")))
    {
        f.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(first.Row.AsSpan()));
    }

    MagmaResponse free = model.GenerateAsync(new MagmaRequest { Images = request.Images, Turns = request.Turns, Options = new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [] } }).GetAwaiter().GetResult();
    MagmaResponse act = model.GenerateAsync(new MagmaRequest { Images = request.Images, Turns = request.Turns, Options = liberoGreedy }).GetAwaiter().GetResult();
    var json = new JsonObject
    {
        ["ids"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]),
        ["rows"] = grid.Rows,
        ["cols"] = grid.Cols,
        ["crop_size"] = engine.Preprocessor.BaseImageSize,
        ["image_token"] = model.Package.Manifest.Tokens.Image,
        ["dotnet_greedy_16"] = new JsonArray([.. free.TokenIds.Select(i => (JsonNode)i)]),
        ["dotnet_action_greedy"] = new JsonArray([.. act.TokenIds.Select(i => (JsonNode)i)]),
        ["prompt_tokens"] = free.Usage.PromptTokens,
    };
    File.WriteAllText(Path.Combine(a.Inputs, name + ".json"), json.ToJsonString());
    results["greedy_" + name] = json.DeepClone();
    ((JsonObject)results["greedy_" + name]!).Remove("ids");
    Console.WriteLine($"{name}: {ids.Length} ids, grid {grid.Rows}x{grid.Cols}, prompt {free.Usage.PromptTokens} positions, greedy [{string.Join(' ', free.TokenIds)}]");
}

// --- vision per crop ---------------------------------------------------------------------------------------------
foreach (int crops in a.Wants("vision") ? new[] { 1, 4 } : [])
{
    var v = model.Package.Manifest.Vision;
    float[] pixels = new float[crops * 3 * v.CropSize * v.CropSize];
    var times = new List<double>();
    for (int i = 0; i < reps + 2; i++)
    {
        long s = Stopwatch.GetTimestamp();
        engine.Sessions.EncodeCrops(pixels, crops);
        if (i >= 2)
        {
            times.Add(Ms(s) / crops);
        }
    }

    Report($"vision per crop ({crops} crop{(crops > 1 ? "s" : "")} per call)", "ms", times);
    Memory($"vision {crops}");
}

// --- vision shape switches: ORT's Conv kernels keep the cuDNN set-up of the last input shape per node, so a run of a
// different crop count than the run before sets every convolution up again (a plan rebuild, not the first-time search)
if (a.Wants("switch"))
{
    var v = model.Package.Manifest.Vision;
    float[] one = new float[3 * v.CropSize * v.CropSize];
    float[] four = new float[4 * one.Length];
    var afterFour = new List<double>();
    var afterOne = new List<double>();
    engine.Sessions.EncodeCrops(four, 4);
    // At most 3 pairs, and none after 20 s: if a switch costs what a first set-up costs (seconds), a few say so.
    long switchStart = Stopwatch.GetTimestamp();
    for (int i = 0; i < Math.Min(reps, 3) && Ms(switchStart) < 20_000; i++)
    {
        long s = Stopwatch.GetTimestamp();
        engine.Sessions.EncodeCrops(one, 1);
        afterFour.Add(Ms(s));
        s = Stopwatch.GetTimestamp();
        engine.Sessions.EncodeCrops(four, 4);
        afterOne.Add(Ms(s));
    }

    Report("vision 1 crop right after a 4-crop run (shape switch)", "ms", afterFour);
    Report("vision 4 crops right after a 1-crop run (shape switch)", "ms", afterOne);
}

// --- end-to-end steps ------------------------------------------------------------------------------------------------
if (a.Wants("steps"))
{
    Measure("LIBERO step, greedy (7 action tokens)", reps, () => model.GenerateAsync(LiberoRequest(liberoGreedy)).GetAwaiter().GetResult());
    Measure("LIBERO step, sampled T=0.7 top-k 50 (host)", reps, () => model.GenerateAsync(LiberoRequest(liberoSampled)).GetAwaiter().GetResult());
    Measure("UI step, 4 crops -> 32 tokens", Math.Max(3, reps / 2), () => model.GenerateAsync(UiRequest(ui32)).GetAwaiter().GetResult());
    Memory("steps");
}

void Measure(string name, int n, Func<MagmaResponse> run)
{
    MagmaResponse last = run();
    var times = new List<double>();
    for (int i = 0; i < n; i++)
    {
        long s = Stopwatch.GetTimestamp();
        last = run();
        times.Add(Ms(s));
    }

    Report(name, "ms", times, new JsonObject { ["prompt_tokens"] = last.Usage.PromptTokens, ["tokens"] = last.TokenIds.Count });
}

// batched LIBERO steps: N robots' frames -> N actions per call (throughput). Vision of all frames in shared runs,
// prompts prefilled together, decode steps batched (MagmaModel.GenerateBatchAsync). Each N also checks that the
// batch's actions are those of one-at-a-time calls (greedy agreement, reported).
MagmaRequest Robot(int i, GenerationOptions options) => new()
{
    Images = [Images.Pattern(LiberoFrameSize, LiberoFrameSize, seed: 10 + i)],
    Turns = MagmaPrompts.Conversation(MagmaPrompts.RobotAction(i % 2 == 0 ? Task : "open the top drawer of the cabinet", startEnd)),
    Options = options,
};

double perSecondAtOne = 0;
var aloneActions = new Dictionary<int, IReadOnlyList<int>>();
IReadOnlyList<int> Alone(int i) => aloneActions.TryGetValue(i, out var ids) ? ids
    : aloneActions[i] = model.GenerateAsync(Robot(i, liberoGreedy)).GetAwaiter().GetResult().TokenIds;
foreach (int n in a.Wants("batched") ? a.BatchSizes : [])
{
    MagmaRequest[] batch = [.. Enumerable.Range(0, n).Select(i => Robot(i, liberoGreedy))];
    IReadOnlyList<MagmaResponse> first = model.GenerateBatchAsync(batch).GetAwaiter().GetResult();
    int agree = Enumerable.Range(0, n).Count(i => first[i].TokenIds.SequenceEqual(Alone(i)));
    var times = new List<double>();
    for (int i = 0; i < Math.Max(3, reps / 2); i++)
    {
        long s = Stopwatch.GetTimestamp();
        model.GenerateBatchAsync(batch).GetAwaiter().GetResult();
        times.Add(Ms(s));
    }

    times.Sort();
    double perSecond = n / (times[times.Count / 2] / 1000);
    perSecondAtOne = n == 1 ? perSecond : perSecondAtOne;
    Report($"batched LIBERO steps, N = {n}", "ms", times, new JsonObject
    {
        ["actions_per_s"] = Math.Round(perSecond, 1),
        ["vs_n1"] = perSecondAtOne > 0 ? Math.Round(perSecond / perSecondAtOne, 2) : null,
        ["actions_equal_to_alone"] = $"{agree}/{n}",
    });
    Memory($"batched {n}");
}

// continuous batching: LIBERO requests arriving at random (Poisson) times at a given rate, each awaited by its own
// caller through one MagmaBatchScheduler; latency = arrival -> answer. The rate is the offered load; above the
// saturation rate the queue grows and the latencies with it (the run then shows the capacity, not a steady state).
if (a.Wants("arrivals"))
{
    await using var scheduler = new MagmaBatchScheduler(model, new MagmaSchedulerOptions { MaxBatchSize = a.MaxBatch, PositionsPerRequest = 1024 });
    // Warm-up: every vision batch size and a spread of prefill shapes, so that cuDNN's per-shape search and GEMM
    // tuning happen before the timed runs.
    int cropSize = model.Package.Manifest.Vision.CropSize;
    for (int crops = 1; crops <= new MagmaModelOptions().MaxVisionCropsPerRun; crops++)
    {
        engine.Sessions.EncodeCrops(new float[crops * 3 * cropSize * cropSize], crops, crops);
    }

    for (int k = 0; k < 8; k++)
    {
        Alone(k); // the reference actions, computed here: the answers' continuations only read them
    }

    RunArrivals(a.Rates.Max(), Math.Min(a.ArrivalRequests, 2 * a.MaxBatch), record: false);
    foreach (double rate in a.Rates)
    {
        RunArrivals(rate, a.ArrivalRequests, record: true);
    }

    void RunArrivals(double rate, int count, bool record)
    {
        var rng = new Random(1234);
        var latencies = new double[count];
        var tasks = new System.Threading.Tasks.Task[count];
        int agree = 0;
        long start = Stopwatch.GetTimestamp();
        double due = 0;
        for (int i = 0; i < count; i++)
        {
            due += -Math.Log(1 - rng.NextDouble()) / rate * 1000; // exponential gaps: Poisson arrivals
            double wait = due - Ms(start);
            if (wait > 0)
            {
                Thread.Sleep(TimeSpan.FromMilliseconds(wait));
            }

            int k = i % 8;
            long arrived = Stopwatch.GetTimestamp();
            Task<MagmaResponse> answer = scheduler.GenerateAsync(Robot(k, liberoGreedy));
            int index = i;
            tasks[i] = answer.ContinueWith(t =>
            {
                latencies[index] = Ms(arrived);
                if (t.Result.TokenIds.SequenceEqual(Alone(k)))
                {
                    Interlocked.Increment(ref agree);
                }
            }, TaskScheduler.Default);
        }

        System.Threading.Tasks.Task.WaitAll(tasks);
        double seconds = Ms(start) / 1000;
        if (record)
        {
            Report($"arrivals at {rate:0.#} req/s (LIBERO, scheduler max batch {a.MaxBatch})", "ms", [.. latencies], new JsonObject
            {
                ["offered_per_s"] = rate,
                ["served_per_s"] = Math.Round(count / seconds, 1),
                ["requests"] = count,
                ["actions_equal_to_alone"] = $"{agree}/{count}",
            });
        }
    }
}

// --- parity on this device (issue 18): what the speed paths may change is rounding, nothing else ----------------------
// Compared by first-step logits (the prefill's last position, before any constraint) and greedy tokens:
//   padded vs exact: under PrefillBucketing.NewLengths a prompt length's first request runs padded, its second exactly
//                    (a third, exact again, shows whether repeated runs are bit-identical at all);
//   batched vs alone: GenerateBatchAsync rows against the same requests one at a time, on the production path (device
//                    token choice under the action bias) and on the host path (logits read, which the check needs);
//   copies:           a batch of one request N times: a row's result must not depend on its slot;
//   text batched:     text-only requests, batched vs alone (the decoder without vision).
// A greedy difference is rounding when the logits differ by about the reference's top-2 margin where the choice flips.
if (a.Wants("parity"))
{
    var parity = new JsonObject();
    results["parity"] = parity;
    int[] actionIds = [.. Enumerable.Range(action.FirstActionId, ActionTokenConstraint.BinCount)];
    GenerationOptions Traced(FirstLogits first, bool robot) => robot
        ? new GenerationOptions { MaxNewTokens = 8, LogitsProcessors = [first, action] }
        : new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [], LogitsProcessors = [first] };
    (IReadOnlyList<int> Tokens, float[] Logits) Alone1(MagmaRequest r, bool robot)
    {
        var first = new FirstLogits();
        MagmaResponse response = model.GenerateAsync(new MagmaRequest { Images = r.Images, Turns = r.Turns, Options = Traced(first, robot) }).GetAwaiter().GetResult();
        return (response.TokenIds, first.Row);
    }

    List<(IReadOnlyList<int> Tokens, float[] Logits)> Batch(IReadOnlyList<MagmaRequest> requests, bool robot)
    {
        var firsts = requests.Select(_ => new FirstLogits()).ToArray();
        IReadOnlyList<MagmaResponse> responses = model.GenerateBatchAsync(
            [.. requests.Select((r, i) => new MagmaRequest { Images = r.Images, Turns = r.Turns, Options = Traced(firsts[i], robot) })]).GetAwaiter().GetResult();
        return [.. responses.Select((r, i) => (r.TokenIds, firsts[i].Row))];
    }

    void Group(string name, IEnumerable<(IReadOnlyList<int> RefTokens, float[] RefLogits, IReadOnlyList<int> Tokens, float[] Logits, int[]? Subset)> pairs)
    {
        var rows = new JsonArray();
        int same = 0, count = 0, argmaxSame = 0;
        double worstRel = 0, worstAbs = 0;
        foreach (var p in pairs)
        {
            JsonObject c = LogitsCompare.Compare(p.RefLogits, p.Logits, p.Subset);
            bool tokens = p.RefTokens.SequenceEqual(p.Tokens);
            c["tokens_equal"] = tokens;
            c["ref_tokens"] = string.Join(' ', p.RefTokens);
            c["tokens"] = string.Join(' ', p.Tokens);
            rows.Add(c);
            count++;
            same += tokens ? 1 : 0;
            argmaxSame += (bool)c["argmax_equal"]! ? 1 : 0;
            worstRel = Math.Max(worstRel, (double)c["rel_l2"]!);
            worstAbs = Math.Max(worstAbs, (double)c["max_abs"]!);
        }

        parity[name] = new JsonObject
        {
            ["tokens_equal"] = $"{same}/{count}",
            ["first_argmax_equal"] = $"{argmaxSame}/{count}",
            ["worst_rel_l2"] = worstRel,
            ["worst_max_abs"] = worstAbs,
            ["rows"] = rows,
        };
        string flips = string.Join("; ", rows.Select(r => r!.AsObject()).Where(r => !(bool)r["argmax_equal"]!)
            .Select(r => $"{r["ref_argmax"]}->{r["argmax"]} margin {(double)r["ref_margin"]!:G3}"));
        Console.WriteLine($"parity {name,-28} tokens equal {same}/{count}, first argmax equal {argmaxSame}/{count}, worst rel L2 {worstRel:E2}, worst max |d| {worstAbs:G4}"
            + $", non-finite mismatches {rows.Sum(r => (int)r!["non_finite_mismatch"]!)}{(flips.Length > 0 ? "; flips " + flips : "")}");
        File.WriteAllText(Path.Combine(a.Out, "results.json"), results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    // 1. padded vs exact prefill (a no-op comparison when bucketing is off: then all three runs are exact)
    var prompts = new List<(MagmaRequest Request, bool Robot)>();
    for (int k = 0; k < 3; k++)
    {
        prompts.Add((new MagmaRequest { Images = [screenshot], Turns = MagmaPrompts.Conversation(MagmaPrompts.UiClick(Click + string.Concat(Enumerable.Repeat(" Then check it.", 20 + (3 * k))), startEnd)) }, false));
        prompts.Add((new MagmaRequest { Images = [frame], Turns = MagmaPrompts.Conversation(MagmaPrompts.RobotAction(Task + string.Concat(Enumerable.Repeat(" slowly", 2 + k)), startEnd)) }, true));
        prompts.Add((new MagmaRequest { Turns = MagmaPrompts.Conversation("Say what a robot arm does, in one sentence" + new string('!', 1 + k)) }, false));
    }

    var padded = prompts.Select(p => Alone1(p.Request, p.Robot)).ToList();
    var exact = prompts.Select(p => Alone1(p.Request, p.Robot)).ToList();
    var again = prompts.Select(p => Alone1(p.Request, p.Robot)).ToList();
    parity["bucketing"] = engine.Bucketing.ToString();
    Group("padded vs exact prefill", prompts.Select((p, i) => (exact[i].Tokens, exact[i].Logits, padded[i].Tokens, padded[i].Logits, p.Robot ? actionIds : null)));
    Group("exact vs exact again", prompts.Select((p, i) => (exact[i].Tokens, exact[i].Logits, again[i].Tokens, again[i].Logits, p.Robot ? actionIds : null)));

    // 2. batched vs alone, LIBERO (alone: lengths seen above or in the first alone run, so exact prefills)
    foreach (int n in new[] { 1, 4, 16 })
    {
        MagmaRequest[] robots = [.. Enumerable.Range(0, n).Select(i => Robot(i, liberoGreedy))];
        foreach (MagmaRequest r in robots.Take(2))
        {
            model.GenerateAsync(r).GetAwaiter().GetResult(); // each prompt length once, so the alone runs below are exact
        }

        var alone = robots.Select(r => Alone1(r, robot: true)).ToList();
        var batched = Batch(robots, robot: true);
        Group($"batched N={n} vs alone (host)", alone.Select((x, i) => (x.Tokens, x.Logits, batched[i].Tokens, batched[i].Logits, (int[]?)actionIds)));
        IReadOnlyList<MagmaResponse> production = model.GenerateBatchAsync(robots).GetAwaiter().GetResult();
        var productionAlone = robots.Select(r => model.GenerateAsync(r).GetAwaiter().GetResult().TokenIds).ToList();
        int agree = Enumerable.Range(0, n).Count(i => production[i].TokenIds.SequenceEqual(productionAlone[i]));
        int hostAgree = Enumerable.Range(0, n).Count(i => production[i].TokenIds.SequenceEqual(batched[i].Tokens));
        int aloneHostAgree = Enumerable.Range(0, n).Count(i => productionAlone[i].SequenceEqual(alone[i].Tokens));
        parity[$"batched N={n} production path"] = new JsonObject
        {
            ["batch_vs_alone"] = $"{agree}/{n}",
            ["batch_device_vs_batch_host"] = $"{hostAgree}/{n}",
            ["alone_device_vs_alone_host"] = $"{aloneHostAgree}/{n}",
        };
        Console.WriteLine($"parity batched N={n} production path: batch vs alone {agree}/{n}, batch device vs host choice {hostAgree}/{n}, alone device vs host choice {aloneHostAgree}/{n}");
    }

    // 3. one request 8 times in one batch: every row against row 0, and row 0 against the request alone
    {
        MagmaRequest[] copies = [.. Enumerable.Repeat(Robot(0, liberoGreedy), 8)];
        var slots = Batch(copies, robot: true);
        Group("copies: row k vs row 0", slots.Skip(1).Select(x => (slots[0].Tokens, slots[0].Logits, x.Tokens, x.Logits, (int[]?)actionIds)));
        var alone = Alone1(copies[0], robot: true);
        Group("copies: row 0 vs alone", [(alone.Tokens, alone.Logits, slots[0].Tokens, slots[0].Logits, (int[]?)actionIds)]);
    }

    // 4. text-only batched vs alone: the decoder's batched prefill and steps without vision
    {
        MagmaRequest[] texts = [.. Enumerable.Range(0, 4).Select(i => new MagmaRequest
        {
            Turns = MagmaPrompts.Conversation("Describe step " + (i + 1) + " of moving a bowl" + string.Concat(Enumerable.Repeat(" carefully", 1 + (2 * i)))),
        })];
        foreach (MagmaRequest r in texts)
        {
            model.GenerateAsync(r).GetAwaiter().GetResult();
        }

        var alone = texts.Select(r => Alone1(r, robot: false)).ToList();
        var batched = Batch(texts, robot: false);
        Group("text batched N=4 vs alone", alone.Select((x, i) => (x.Tokens, x.Logits, batched[i].Tokens, batched[i].Logits, (int[]?)null)));
    }
}

// time to first token of the UI step (streaming)
if (a.Wants("ttft"))
{
    var times = new List<double>();
    for (int i = 0; i < Math.Max(3, reps / 2) + 1; i++)
    {
        long s = Stopwatch.GetTimestamp();
        double first = -1;
        var it = model.StreamAsync(UiRequest(ui32)).GetAsyncEnumerator();
        try
        {
            while (it.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                if (first < 0)
                {
                    first = Ms(s);
                }
            }
        }
        finally
        {
            it.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        if (i > 0)
        {
            times.Add(first);
        }
    }

    Report("UI step time to first token", "ms", times);
}

// --- prefill and decode at fixed lengths (text-only ids; no vision) -------------------------------------------------------
int[] filler = engine.Tokenizer.Encode(string.Concat(Enumerable.Repeat("The robot arm moves the red block next to the blue bowl. ", 400)), addBeginOfText: true).ToArray();
int[] Prompt(int length) => filler[..length];

foreach (int length in a.Wants("prefill") ? new[] { 312, 1116 } : [])
{
    if (length + 2 > model.ContextLength)
    {
        continue;
    }

    var times = new List<double>();
    var options = new GenerationOptions { MaxNewTokens = 1, StopTokenIds = [] };
    for (int i = 0; i < reps + 1; i++)
    {
        long s = Stopwatch.GetTimestamp();
        using (RequestRun run = engine.Start(Prompt(length), [], options))
        {
            run.MoveNext(CancellationToken.None, out _, out _);
        }

        if (i > 0)
        {
            times.Add(Ms(s));
        }
    }

    Report($"prefill {length} tokens (embed + decoder, first token)", "ms", times);
    Memory($"prefill {length}");
}

// prefill at lengths the process has not seen yet: what a request of a new prompt length pays (per-shape tuning)
if (a.Wants("fresh"))
{
    var options = new GenerationOptions { MaxNewTokens = 1, StopTokenIds = [] };
    foreach (int first in (int[])[290, 1100])
    {
        var times = new List<double>();
        for (int length = first; length < first + 10; length++)
        {
            long s = Stopwatch.GetTimestamp();
            using (RequestRun run = engine.Start(Prompt(length), [], options))
            {
                run.MoveNext(CancellationToken.None, out _, out _);
            }

            times.Add(Ms(s));
        }

        Report($"prefill {first}..{first + 9} tokens, each length new to the process", "ms", times);
    }

    // UI steps whose instruction grows by a word each time: every prompt length is new, as for a real agent.
    var ttft = new List<double>();
    var total = new List<double>();
    int promptTokens = 0;
    for (int i = 0; i < Math.Max(5, reps); i++)
    {
        var request = new MagmaRequest
        {
            Images = [screenshot],
            Turns = MagmaPrompts.Conversation(MagmaPrompts.UiClick(Click + string.Concat(Enumerable.Repeat(" Then wait.", 3 + i)), startEnd)),
            Options = ui32,
        };
        long s = Stopwatch.GetTimestamp();
        double first = -1;
        var it = model.StreamAsync(request).GetAsyncEnumerator();
        try
        {
            while (it.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                first = first < 0 ? Ms(s) : first;
            }
        }
        finally
        {
            it.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        total.Add(Ms(s));
        ttft.Add(first);
        promptTokens = engine.Tokenize(request.Turns).Length;
    }

    Report("UI step time to first token, each prompt length new", "ms", ttft, new JsonObject { ["last_prompt_ids"] = promptTokens });
    Report("UI step (4 crops -> 32 tokens), each prompt length new", "ms", total);
}

foreach (int context in a.Wants("decode") ? a.DecodeContexts : [])
{
    const int Steps = 64;
    if (context + Steps + 1 > model.ContextLength)
    {
        Console.WriteLine($"decode at {context}: skipped (context limit {model.ContextLength}; pass --max-seq)");
        continue;
    }

    foreach ((string how, GenerationOptions options) in new[]
    {
        ("device argmax", new GenerationOptions { MaxNewTokens = Steps + 1, StopTokenIds = [] }),
        ("logits to host", new GenerationOptions { MaxNewTokens = Steps + 1, StopTokenIds = [], LogitsProcessors = [new HostOnly()] }),
    })
    {
        var times = new List<double>();
        for (int r = 0; r < 2; r++)
        {
            using RequestRun run = engine.Start(Prompt(context), [], options);
            run.MoveNext(CancellationToken.None, out _, out _);
            long s = Stopwatch.GetTimestamp();
            while (run.MoveNext(CancellationToken.None, out _, out _))
            {
                times.Add(Ms(s));
                s = Stopwatch.GetTimestamp();
            }
        }

        Report($"decode per token at {context} context ({how})", "ms", times);
    }

    Memory($"decode {context}");
}

if (a.VisionProfile > 0 && a.Device == MagmaDevice.Cuda)
{
    // Vision runs inside the profiler's capture range (ncu --profile-from-start off), after two runs outside it so
    // that cuDNN's per-shape set-up is not in the profile.
    var v = model.Package.Manifest.Vision;
    int crops = a.VisionProfileCrops;
    float[] pixels = new float[crops * 3 * v.CropSize * v.CropSize];
    engine.Sessions.EncodeCrops(pixels, crops, crops);
    engine.Sessions.EncodeCrops(pixels, crops, crops);
    Magma.Inference.Onnx.CudaRuntime.ProfilerStart();
    long s = Stopwatch.GetTimestamp();
    for (int i = 0; i < a.VisionProfile; i++)
    {
        engine.Sessions.EncodeCrops(pixels, crops, crops);
    }

    Magma.Inference.Onnx.CudaRuntime.ProfilerStop();
    Console.WriteLine($"profiled {a.VisionProfile} vision runs of {crops} crops: {Ms(s) / a.VisionProfile / crops:F2} ms per crop under the profiler");
}

if (a.ProfileSteps > 0 && a.Device == MagmaDevice.Cuda)
{
    // One run of greedy decode steps at 1k context inside the profiler's capture range: `ncu --profile-from-start off`
    // then sees exactly these steps' kernels (the graph replays' nodes).
    using RequestRun run = engine.Start(Prompt(1024), [], new GenerationOptions { MaxNewTokens = a.ProfileSteps + 3, StopTokenIds = [] });
    run.MoveNext(CancellationToken.None, out _, out _);
    run.MoveNext(CancellationToken.None, out _, out _);
    Magma.Inference.Onnx.CudaRuntime.ProfilerStart();
    long s = Stopwatch.GetTimestamp();
    for (int i = 0; i < a.ProfileSteps; i++)
    {
        run.MoveNext(CancellationToken.None, out _, out _);
    }

    Magma.Inference.Onnx.CudaRuntime.ProfilerStop();
    Console.WriteLine($"profiled {a.ProfileSteps} decode steps at 1k context: {Ms(s) / a.ProfileSteps:F2} ms per step under the profiler");
}

Memory("end");
if (a.VisionOrtProfile)
{
    Console.WriteLine($"ORT vision profile: {engine.Sessions.Vision.EndProfiling()}");
}

Console.WriteLine($"results: {Path.Combine(a.Out, "results.json")}");
return 0;

/// <summary>Keeps a copy of the first logits row it sees (the prefill's last position).</summary>
internal sealed class FirstLogits : ILogitsProcessor
{
    public float[] Row { get; private set; } = [];

    public void Process(ReadOnlySpan<int> generated, Span<float> logits)
    {
        if (Row.Length == 0)
        {
            Row = logits.ToArray();
        }
    }
}

/// <summary>First-step logits of a run against a reference run of the same request.</summary>
internal static class LogitsCompare
{
    /// <summary>
    /// Relative L2 and largest absolute difference over the whole row; the argmax over <paramref name="subset"/> (the
    /// allowed ids, or every id when null) of both, and the reference's top-2 margin there (a flip smaller than the
    /// differences is rounding, one larger is not).
    /// </summary>
    public static JsonObject Compare(float[] reference, float[] other, int[]? subset)
    {
        if (reference.Length != other.Length || reference.Length == 0)
        {
            return new JsonObject { ["rel_l2"] = -1.0, ["max_abs"] = -1.0, ["argmax_equal"] = false, ["ref_margin"] = -1.0, ["non_finite_mismatch"] = 0, ["note"] = $"rows of {reference.Length} and {other.Length}" };
        }

        // Over the ids finite in both rows: a graph that applies a token set's bias writes -inf (or fp16's lowest) outside
        // it; equal non-finite values count as equal, a non-finite value against a finite one is counted apart.
        double num = 0, den = 0, maxAbs = 0;
        int nonFiniteMismatch = 0, nonFinite = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            if (!float.IsFinite(reference[i]) || !float.IsFinite(other[i]))
            {
                nonFinite++;
                nonFiniteMismatch += reference[i].Equals(other[i]) ? 0 : 1;
                continue;
            }

            double d = other[i] - (double)reference[i];
            num += d * d;
            den += (double)reference[i] * reference[i];
            maxAbs = Math.Max(maxAbs, Math.Abs(d));
        }

        (int refBest, float refTop, float refSecond) = Top2(reference, subset);
        (int otherBest, _, _) = Top2(other, subset);
        return new JsonObject
        {
            ["rel_l2"] = Math.Sqrt(num / Math.Max(den, 1e-30)),
            ["max_abs"] = maxAbs,
            ["argmax_equal"] = refBest == otherBest,
            ["ref_argmax"] = refBest,
            ["argmax"] = otherBest,
            ["ref_margin"] = float.IsFinite(refTop - refSecond) ? (double)(refTop - refSecond) : -1.0,
            ["non_finite"] = nonFinite,
            ["non_finite_mismatch"] = nonFiniteMismatch,
        };
    }

    private static (int Best, float Top, float Second) Top2(float[] row, int[]? subset)
    {
        int best = -1;
        float top = float.NegativeInfinity, second = float.NegativeInfinity;
        int count = subset?.Length ?? row.Length;
        for (int k = 0; k < count; k++)
        {
            int i = subset is null ? k : subset[k];
            float v = row[i];
            if (v > top)
            {
                (second, top, best) = (top, v, i);
            }
            else if (v > second)
            {
                second = v;
            }
        }

        return (best, top, second);
    }
}

/// <summary>A no-op logits processor: forces the host path (logits row copied back and argmax on the CPU) for comparison.</summary>
internal sealed class HostOnly : ILogitsProcessor
{
    public void Process(ReadOnlySpan<int> generated, Span<float> logits)
    {
    }
}

internal static class Images
{
    /// <summary>A deterministic image with edges and colour regions (the content does not matter to latency).</summary>
    public static RgbImage Pattern(int width, int height, int seed)
    {
        byte[] rgb = new byte[width * height * 3];
        var rng = new Random(seed);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 3;
                rgb[i] = (byte)((x * 255 / Math.Max(1, width - 1)) ^ (((x / 32) + (y / 32)) % 2 == 0 ? 0 : 64));
                rgb[i + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                rgb[i + 2] = (byte)rng.Next(256);
            }
        }

        return RgbImage.FromPixels(width, height, rgb);
    }
}

internal sealed record Args(string Model, MagmaDevice Device, string Out, string Inputs, int Reps, int MaxSequence, bool Graphs,
    string[]? Only, int[] DecodeContexts, int[] BatchSizes, double[] Rates, int ArrivalRequests, int MaxBatch)
{
    public string? ConvSearch { get; init; }

    /// <summary>Whether a group of measures is asked for (--only; all when absent).</summary>
    public bool Wants(string group) => Only is null || Only.Contains(group);

    public bool? ConvMaxWorkspace { get; init; }

    public bool GemmTune { get; init; } = true;

    public bool ParallelLoad { get; init; } = true;

    public int[]? WarmCrops { get; init; }

    public bool DumpInputs { get; init; } = true;

    public int ProfileSteps { get; init; }

    public bool ShrinkVision { get; init; }

    public bool ReleaseVisionMemory { get; init; }

    public Dictionary<string, string> VisionCuda { get; init; } = [];

    public int[]? VisionChunks { get; init; }

    public bool? EmbedCpu { get; init; }

    public bool VisionAllCrops { get; init; }

    public bool BackgroundWarmUp { get; init; }
    public PrefillBucketing? PrefillBuckets { get; init; }

    public bool WarmWidths { get; init; } = true;

    public int? WarmWidthsUpTo { get; init; }

    public int VisionProfile { get; init; }

    public int VisionProfileCrops { get; init; } = 4;

    public bool VisionOrtProfile { get; init; }

    public bool VisionGraphs { get; init; }
}

internal static class ArgsParser
{
    public static Args Parse(string[] args)
    {
        string? model = null;
        var device = MagmaDevice.Cuda;
        string outDir = "bench-results";
        string? inputs = null;
        bool graphs = true;
        int reps = 20;
        int maxSeq = 4352;
        string[]? only = null;
        int[] contexts = [1024, 4096];
        string? convSearch = null;
        bool? convMaxWs = null;
        bool gemmTune = true, parallel = true, dump = true;
        int[]? warmCrops = null;
        int profile = 0;
        bool shrink = false, release = false, background = false, allCrops = false;
        bool? embedCpu = null;
        var visionCuda = new Dictionary<string, string>();
        int[]? visionChunks = null;
        PrefillBucketing? buckets = null;
        bool warmWidths = true, ortProfile = false, visionGraphs = false;
        int visionProfile = 0, visionProfileCrops = 4;
        int? warmUpTo = null;
        int[] batchSizes = [1, 4, 8, 16, 32];
        double[] rates = [5, 10, 20, 40, 80, 160];
        int arrivalRequests = 96;
        int maxBatch = 32;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--model": model = args[++i]; break;
                case "--device": device = Enum.Parse<MagmaDevice>(args[++i], ignoreCase: true); break;
                case "--out": outDir = args[++i]; break;
                case "--inputs": inputs = args[++i]; break;
                case "--no-graphs": graphs = false; break;
                case "--reps": reps = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--max-seq": maxSeq = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--only": only = args[++i].Split(','); break;
                case "--conv-search": convSearch = args[++i].ToUpperInvariant(); break;
                case "--conv-max-ws": convMaxWs = args[++i] == "1"; break;
                case "--no-gemm-tune": gemmTune = false; break;
                case "--serial-load": parallel = false; break;
                case "--warm-crops": warmCrops = [.. args[++i].Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture))]; break;
                case "--no-inputs": dump = false; break;
                case "--vision-chunks": visionChunks = [.. args[++i].Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture))]; break;
                case "--shrink-vision": shrink = true; break;
                case "--release-vision-memory": release = true; break;
                case "--embed-cpu": embedCpu = true; break;
                case "--embed-gpu": embedCpu = false; break;
                case "--vision-all-crops": allCrops = true; break;
                case "--background-warmup": background = true; break;
                case "--vision-cuda": string[] kv = args[++i].Split('=', 2); visionCuda[kv[0]] = kv[1]; break;
                case "--profile-steps": profile = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--decode-contexts": contexts = [.. args[++i].Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture))]; break;
                case "--batch-sizes": batchSizes = [.. args[++i].Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture))]; break;
                case "--rates": rates = [.. args[++i].Split(',').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture))]; break;
                case "--arrival-requests": arrivalRequests = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--max-batch": maxBatch = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--prefill-buckets":
                    buckets = args[++i] switch
                    {
                        "off" => PrefillBucketing.Off,
                        "new" => PrefillBucketing.NewLengths,
                        "always" => PrefillBucketing.Always,
                        string x => throw new ArgumentException($"--prefill-buckets {x}: use off, new or always"),
                    };
                    break;
                case "--no-warm-widths": warmWidths = false; break;
                case "--warm-widths-up-to": warmUpTo = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--vision-profile": visionProfile = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--vision-profile-crops": visionProfileCrops = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--vision-ort-profile": ortProfile = true; break;
                case "--vision-graphs": visionGraphs = true; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        return new Args(model ?? throw new ArgumentException("--model DIR is required"), device, outDir,
            inputs ?? Path.Combine(outDir, "inputs"), reps, maxSeq, graphs, only, contexts, batchSizes, rates, arrivalRequests, maxBatch)
        {
            ConvSearch = convSearch,
            ConvMaxWorkspace = convMaxWs,
            GemmTune = gemmTune,
            ParallelLoad = parallel,
            WarmCrops = warmCrops,
            DumpInputs = dump,
            ProfileSteps = profile,
            ShrinkVision = shrink,
            ReleaseVisionMemory = release,
            VisionCuda = visionCuda,
            VisionChunks = visionChunks,
            EmbedCpu = embedCpu,
            VisionAllCrops = allCrops,
            BackgroundWarmUp = background,
            PrefillBuckets = buckets,
            WarmWidths = warmWidths,
            WarmWidthsUpTo = warmUpTo,
            VisionProfile = visionProfile,
            VisionProfileCrops = visionProfileCrops,
            VisionOrtProfile = ortProfile,
            VisionGraphs = visionGraphs,
        };
    }
}
