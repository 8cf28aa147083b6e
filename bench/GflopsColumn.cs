using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SamEngine.Bench;

/// <summary>A benchmark class whose current case does a known number of FLOPs (2 x MAC).</summary>
public interface IFlopCounted
{
    /// <summary>FLOPs of one invocation of the benchmark method.</summary>
    double Flops { get; }
}

/// <summary>Adds a GFLOP/s column: the case's FLOPs over the mean time.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOP/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "FLOP (2 x MAC) per invocation over the mean time";
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats) return "-";
        if (Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not IFlopCounted counted) return "-";
        foreach (var p in benchmarkCase.Parameters.Items)
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(counted, p.Value);
        return (counted.Flops / stats.Mean).ToString("F1"); // FLOP per ns = GFLOP/s
    }
}

/// <summary>The default config plus the GFLOP/s column.</summary>
public sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig()
    {
        Add(DefaultConfig.Instance);
        AddColumn(new GflopsColumn());
    }
}
