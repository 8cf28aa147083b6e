using BenchmarkDotNet.Running;
using SamEngine.Bench;

// `quick` times every kernel case with a stopwatch (a smoke run, a few seconds); anything else goes to
// BenchmarkDotNet, e.g. `--filter *Gemm*`.
if (args.Length > 0 && args[0] == "quick") return QuickRun.Run(args.Skip(1).ToArray());
BenchmarkSwitcher.FromAssembly(typeof(QuickRun).Assembly).Run(args, new GflopsConfig());
return 0;
