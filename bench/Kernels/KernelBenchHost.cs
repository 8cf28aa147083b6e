using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Bench.Kernels;

/// <summary>
/// Runs the kernel benchmarks: <c>dotnet run -c Release --project bench -- kernels [BenchmarkDotNet args]</c>.
/// They use the first of CUDA, an OpenCL GPU and ILGPU's CPU accelerator; on the CPU accelerator only
/// the shapes marked small run (it simulates every GPU thread with an OS thread).
/// </summary>
public static class KernelBenchHost
{
    private static readonly Lazy<(IIlgpuBackend Backend, bool IsGpu)> Opened = new(() =>
    {
        // SAMENGINE_BENCH_PRECISION=fp16 measures the kernels with fp16 activations.
        var precision = Environment.GetEnvironmentVariable("SAMENGINE_BENCH_PRECISION") == "fp16" ? Precision.Fp16 : Precision.Fp32;
        foreach (var kind in new[] { IlgpuDeviceKind.Cuda, IlgpuDeviceKind.OpenCL })
        {
            try { return (IlgpuBackend.Create(kind, gpuOnly: true, precision), true); }
            catch (Exception e) when (e is not OutOfMemoryException) { /* absent: next */ }
        }
        return (IlgpuBackend.Create(IlgpuDeviceKind.Cpu, precision: precision), false);
    });

    /// <summary>The backend every benchmark shares (one per process).</summary>
    public static IIlgpuBackend Backend => Opened.Value.Backend;

    /// <summary>Whether the benchmarks run on a GPU (else the small shapes on the CPU accelerator).</summary>
    public static bool IsGpu => Opened.Value.IsGpu;

    /// <summary>Entry point for <c>bench kernels</c>.</summary>
    public static int Run(string[] args)
    {
        Console.WriteLine($"kernel benchmarks on {Backend.Name}: {Backend.Device}{(IsGpu ? "" : " (small shapes: no GPU found)")}");
        var config = ManualConfig.CreateMinimumViable()
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
                .WithWarmupCount(1).WithIterationCount(5).WithInvocationCount(1).WithUnrollFactor(1))
            .AddColumn(new ThroughputColumn())
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summaries = BenchmarkSwitcher.FromTypes([typeof(GemmBenchmarks), typeof(AttentionBenchmarks), typeof(LayerNormBenchmarks), typeof(ConvBenchmarks)])
            .Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}

/// <summary>A benchmark over named SAM shapes; <see cref="Work"/> is the FLOP (or byte) count of one call.</summary>
public interface IShapedBenchmark
{
    /// <summary>Work of one call for the shape name, and its unit ("FLOP" or "B").</summary>
    static abstract (double Amount, string Unit) Work(string shape);
}

/// <summary>Adds GFLOP/s (or GB/s) from the mean time and the benchmark's work for its Shape parameter.</summary>
internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "Throughput";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "GFLOP/s (GB/s for memory-bound kernels) at the mean time";
    public bool IsDefault(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        var shape = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Shape")?.Value as string;
        var type = benchmarkCase.Descriptor.Type;
        if (report?.ResultStatistics is null || shape is null) return "-";
        var method = type.GetMethod(nameof(IShapedBenchmark.Work), System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static);
        if (method is null) return "-";
        var (amount, unit) = ((double, string))method.Invoke(null, [shape])!;
        double seconds = report.ResultStatistics.Mean * 1e-9;
        return $"{amount / seconds / 1e9:G3} G{unit}/s";
    }
}
