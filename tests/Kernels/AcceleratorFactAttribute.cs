using System.Collections.Concurrent;
using System.Reflection;
using SamEngine.Kernels;
using SamEngine.Parity;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace SamEngine.Tests.Kernels;

/// <summary>Names the accelerator, and the activation format, a concrete kernel test class runs its inherited test bodies on.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AcceleratorAttribute(IlgpuDeviceKind kind, Precision precision = Precision.Fp32) : Attribute
{
    /// <summary>The accelerator kind.</summary>
    public IlgpuDeviceKind Kind { get; } = kind;

    /// <summary>How the backend stores activations.</summary>
    public Precision Precision { get; } = precision;
}

/// <summary>
/// A fact that runs on the accelerator its concrete test class names with <see cref="AcceleratorAttribute"/>,
/// and is reported as skipped, with the reason, when that accelerator is absent (xunit 2 has no
/// dynamic skip, so the decision is made at discovery).
/// </summary>
[XunitTestCaseDiscoverer("SamEngine.Tests.Kernels.AcceleratorFactDiscoverer", "SamEngine.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class AcceleratorFactAttribute : FactAttribute;

/// <summary>Discovers <see cref="AcceleratorFactAttribute"/> tests, skipping those whose accelerator is missing.</summary>
public sealed class AcceleratorFactDiscoverer(IMessageSink sink) : IXunitTestCaseDiscoverer
{
    private static readonly ConcurrentDictionary<IlgpuDeviceKind, string?> Missing = new();

    /// <summary>Null when the accelerator is present, else why it is not.</summary>
    public static string? MissingReason(IlgpuDeviceKind kind) => Missing.GetOrAdd(kind, k =>
        k == IlgpuDeviceKind.Cpu || IlgpuDevices.IsAvailable(k, out string why) ? null : why);

    /// <inheritdoc />
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod method, IAttributeInfo fact)
    {
        var kind = method.TestClass.Class.ToRuntimeType().GetCustomAttribute<AcceleratorAttribute>()?.Kind ?? IlgpuDeviceKind.Cpu;
        string? reason = MissingReason(kind);
        var display = options.MethodDisplayOrDefault();
        var displayOptions = options.MethodDisplayOptionsOrDefault();
        yield return reason is null
            ? new XunitTestCase(sink, display, displayOptions, method)
            : new SkippedTestCase(sink, display, displayOptions, method, $"{kind}: {reason}");
    }
}

/// <summary>A test case reported as skipped with a reason decided at discovery.</summary>
public sealed class SkippedTestCase : XunitTestCase
{
    private string _reason = "";

    /// <summary>For deserialisation only.</summary>
    [Obsolete("Called by the de-serializer", error: true)]
    public SkippedTestCase() { }

    /// <summary>Creates the skipped case.</summary>
    public SkippedTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method, string reason)
        : base(sink, display, options, method) => _reason = reason;

    /// <inheritdoc />
    protected override string GetSkipReason(IAttributeInfo factAttribute) => _reason;

    /// <inheritdoc />
    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("SkipReasonText", _reason);
    }

    /// <inheritdoc />
    public override void Deserialize(IXunitSerializationInfo data)
    {
        _reason = data.GetValue<string>("SkipReasonText");
        base.Deserialize(data);
    }
}
