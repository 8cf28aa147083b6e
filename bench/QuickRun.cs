using System.Diagnostics;
using SamEngine.Backends.Cpu;

namespace SamEngine.Bench;

/// <summary>A stopwatch smoke run of the kernel benchmarks: median and best of a few calls, in GFLOP/s.</summary>
internal static class QuickRun
{
    public static int Run(string[] filter)
    {
        double peak = PeakFlops.Measure();
        Console.WriteLine($"peak_fma {peak,10:F1} GFLOP/s ({Environment.ProcessorCount} threads, {PeakFlops.Lanes} lanes)");
        foreach (var c in GemmCase.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new GemmBenchmarks { Case = c };
            b.Setup();
            Report(c.Name, c.Flops, peak, b.Gemm);
            Report(c.Name + "_int8", c.Flops, peak, b.Int8);
        }
        foreach (var c in SmallRowLinearBenchmarks.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new SmallRowLinearBenchmarks { Case = c };
            b.Setup();
            Report(c.Name, c.Flops, peak, b.Linear);
        }
        foreach (var c in AttentionCase.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new AttentionBenchmarks { Case = c };
            b.Setup();
            Report(c.Name, c.Flops, peak, () => b.Attention().Dispose());
        }
        foreach (var c in DecoderCase.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new DecoderBenchmarks { Case = c };
            b.Setup();
            Report(c.Name, c.Flops, peak, () => b.Op().Dispose());
        }
        foreach (var (name, _) in ActivationBenchmarks.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new ActivationBenchmarks { Case = name };
            b.Setup();
            Report(name, b.Flops, peak, () => b.Gelu());
        }
        foreach (var c in BottleneckCase.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new BottleneckBenchmarks { Case = c };
            b.Setup();
            Report(c.Name, c.Flops, peak, () => b.Bottleneck().Dispose());
        }
        foreach (var c in ConvCase.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new ConvBenchmarks { Case = c };
            b.Setup();
            Report(c.Name, c.Flops, peak, () => b.Conv().Dispose());
        }
        foreach (var (name, _, _) in LayerNormBenchmarks.All.Where(c => filter.Length == 0 || filter.Any(f => c.Name.Contains(f))))
        {
            var b = new LayerNormBenchmarks { Case = name };
            b.Setup();
            Report(name, b.Flops, peak, () => b.LayerNorm());
        }
        return 0;
    }

    private static void Report(string name, double flops, double peak, Action run)
    {
        run();
        var times = new List<double>();
        using var self = Process.GetCurrentProcess();
        var cpuStart = self.TotalProcessorTime;
        for (int i = 0; i < 5; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        self.Refresh();
        double cpu = (self.TotalProcessorTime - cpuStart).TotalSeconds / times.Count;
        times.Sort();
        // The best of the runs is the least disturbed on a shared machine; the median is the typical one.
        // CPU seconds (all threads, thread-pool spinning included) hold up better than wall time under
        // time-slicing: GFLOP per CPU-second compares with one core's share of the peak.
        double t = times[times.Count / 2], gf = flops / t / 1e9, best = flops / times[0] / 1e9;
        Console.WriteLine($"{name,-22} {t * 1e3,9:F2} ms {gf,8:F1} GFLOP/s {100 * gf / peak,5:F1} % of peak (best {best,6:F1}, {100 * best / peak,5:F1} %)" +
            $"  cpu {cpu * 1e3,8:F1} ms/call = {flops / cpu / 1e9,6:F1} GFLOP per CPU-s");
    }
}
