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
        bool Wanted(string name) => filter.Length == 0 || filter.Any(f => name.Contains(f));
        // Each case: set up once, then timed; (name, FLOPs, call) per timed method.
        void Cases<TCase>(IEnumerable<TCase> cases, Func<TCase, string> name, Func<TCase, IEnumerable<(string Name, double Flops, Action Run)>> setUp)
        {
            foreach (var c in cases.Where(c => Wanted(name(c))))
                foreach (var (n, flops, run) in setUp(c)) Report(n, flops, peak, run);
        }
        Cases(GemmCase.All, c => c.Name, c =>
        {
            var b = new GemmBenchmarks { Case = c };
            b.Setup();
            return [(c.Name, c.Flops, b.Gemm), (c.Name + "_int8", c.Flops, b.Int8)];
        });
        Cases(SmallRowLinearBenchmarks.All, c => c.Name, c => One(new SmallRowLinearBenchmarks { Case = c }, b => b.Setup(), c.Name, c.Flops, b => b.Linear));
        Cases(AttentionCase.All, c => c.Name, c => One(new AttentionBenchmarks { Case = c }, b => b.Setup(), c.Name, c.Flops, b => () => b.Attention().Dispose()));
        Cases(DecoderCase.All, c => c.Name, c => One(new DecoderBenchmarks { Case = c }, b => b.Setup(), c.Name, c.Flops, b => () => b.Op().Dispose()));
        Cases(ActivationBenchmarks.All, c => c.Name, c => One(new ActivationBenchmarks { Case = c.Name }, b => b.Setup(), c.Name, null, b => () => b.Gelu()));
        Cases(BottleneckCase.All, c => c.Name, c => One(new BottleneckBenchmarks { Case = c }, b => b.Setup(), c.Name, c.Flops, b => () => b.Bottleneck().Dispose()));
        Cases(ConvCase.All, c => c.Name, c => One(new ConvBenchmarks { Case = c }, b => b.Setup(), c.Name, c.Flops, b => () => b.Conv().Dispose()));
        Cases(LayerNormBenchmarks.All, c => c.Name, c => One(new LayerNormBenchmarks { Case = c.Name }, b => b.Setup(), c.Name, null, b => () => b.LayerNorm()));
        return 0;
    }

    /// <summary>One timed method of a benchmark set up by <paramref name="setUp"/>; FLOPs from the benchmark when not given.</summary>
    private static IEnumerable<(string, double, Action)> One<TBench>(TBench b, Action<TBench> setUp, string name, double? flops, Func<TBench, Action> run)
        where TBench : IFlopCounted
    {
        setUp(b);
        return [(name, flops ?? b.Flops, run(b))];
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
