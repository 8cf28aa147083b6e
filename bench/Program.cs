using BenchmarkDotNet.Running;
using SamEngine.Bench;

// `kernels` runs the ILGPU kernel benchmarks (bench/Kernels) on the best accelerator present;
// `quick` times every CPU kernel case with a stopwatch (a smoke run, a few seconds); anything else goes
// to BenchmarkDotNet over the CPU benchmarks (bench/Cpu), e.g. `--filter *Gemm*`. `load` puts N clients
// on a real `samengine serve` (bench/Load).
if (args is ["kernels", ..]) return SamEngine.Bench.Kernels.KernelBenchHost.Run(args[1..]);
if (args is ["quick", ..]) return QuickRun.Run(args[1..]);
if (args is ["load", ..]) return await SamEngine.Bench.Load.LoadRun.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(QuickRun).Assembly).Run(args, new GflopsConfig());
return 0;
