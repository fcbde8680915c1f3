using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Magma.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
