if (args is ["kernels", ..]) return SamEngine.Bench.Kernels.KernelBenchHost.Run(args[1..]);
return 0;
