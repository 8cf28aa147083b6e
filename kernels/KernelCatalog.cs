using System.Reflection;

namespace SamEngine.Kernels;

/// <summary>One kernel entry point: its name, method (generic ones closed as the launchers use them) and grouping.</summary>
public sealed record KernelEntry(string Name, MethodInfo Method, bool ExplicitlyGrouped);

/// <summary>Every kernel the backend launches, in both activation formats, so a test can compile each for every target without a device.</summary>
public static class KernelCatalog
{
    /// <summary>All kernels: each once per activation format (names end in <c>fp32</c> / <c>fp16</c>).</summary>
    public static IReadOnlyList<KernelEntry> All { get; } = [.. For<Fp32Activations>("fp32"), .. For<Fp16Activations>("fp16")];

    private static IEnumerable<KernelEntry> For<TAct>(string format) where TAct : struct, IActivations<TAct> =>
    [
        new($"Gemm<DenseRows,HalfRows> {format}", ((Delegate)GemmKernels.Gemm<DenseRows<TAct>, HalfRows, TAct>).Method, true),
        new($"Gemm<DenseRows,DenseRows> {format}", ((Delegate)GemmKernels.Gemm<DenseRows<TAct>, DenseRows<TAct>, TAct>).Method, true),
        new($"Gemm<ImplicitPatches,HalfConvWeight> {format}", ((Delegate)GemmKernels.Gemm<ImplicitPatches<TAct>, HalfConvWeight, TAct>).Method, true),
        Closed<TAct>(typeof(LayerNormKernels), nameof(LayerNormKernels.LayerNorm), format, explicitlyGrouped: true),
        Closed<TAct>(typeof(LayerNormKernels), nameof(LayerNormKernels.LayerNormRowPerThread), format),
        Closed<TAct>(typeof(AttentionKernels), nameof(AttentionKernels.Attention), format, explicitlyGrouped: true),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.AddBroadcast), format),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Activate), format),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Transpose), format),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Copy), format),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.Widen), format),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.MaxPool2x2), format),
        Closed<TAct>(typeof(ElementwiseKernels), nameof(ElementwiseKernels.AddUpsampled2x), format),
        Closed<TAct>(typeof(ConvKernels), nameof(ConvKernels.ConvTranspose2x2), format),
        Closed<TAct>(typeof(ConvKernels), nameof(ConvKernels.ConvTranspose2x2Norm), format),
        Closed<TAct>(typeof(PositionalEncodingKernels), nameof(PositionalEncodingKernels.DenseGrid), format),
        Closed<TAct>(typeof(PositionalEncodingKernels), nameof(PositionalEncodingKernels.Points), format),
        Closed<TAct>(typeof(PostprocessKernels), nameof(PostprocessKernels.Resize), format),
        Closed<TAct>(typeof(PostprocessKernels), nameof(PostprocessKernels.Threshold), format),
        Closed<TAct>(typeof(TinyVitKernels), nameof(TinyVitKernels.BatchNormEpilogue), format),
        Closed<TAct>(typeof(TinyVitKernels), nameof(TinyVitKernels.Depthwise), format),
        Closed<TAct>(typeof(TinyVitKernels), nameof(TinyVitKernels.WindowAttention), format),
    ];

    /// <summary>A kernel generic over the activation format alone, closed over <typeparamref name="TAct"/>.</summary>
    private static KernelEntry Closed<TAct>(Type owner, string name, string format, bool explicitlyGrouped = false)
    {
        var method = owner.GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(owner.Name, name);
        return new KernelEntry($"{name} {format}", method.MakeGenericMethod(typeof(TAct)), explicitlyGrouped);
    }
}
