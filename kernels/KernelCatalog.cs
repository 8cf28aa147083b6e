using System.Reflection;

namespace SamEngine.Kernels;

/// <summary>One kernel entry point: its name, method (generic ones closed as the launchers use them) and grouping.</summary>
public sealed record KernelEntry(string Name, MethodInfo Method, bool ExplicitlyGrouped);

/// <summary>Every kernel the backend launches, so a test can compile each for every target without a device.</summary>
public static class KernelCatalog
{
    /// <summary>All kernels.</summary>
    public static IReadOnlyList<KernelEntry> All { get; } =
    [
        Explicit("Gemm<DenseRows,HalfRows>", ((Delegate)GemmKernels.Gemm<DenseRows, HalfRows>).Method),
        Explicit("Gemm<DenseRows,DenseRows>", ((Delegate)GemmKernels.Gemm<DenseRows, DenseRows>).Method),
        Explicit("Gemm<ImplicitPatches,HalfConvWeight>", ((Delegate)GemmKernels.Gemm<ImplicitPatches, HalfConvWeight>).Method),
        Explicit(nameof(LayerNormKernels.LayerNorm), typeof(LayerNormKernels)),
        Implicit(nameof(LayerNormKernels.LayerNormRowPerThread), typeof(LayerNormKernels)),
        Explicit(nameof(AttentionKernels.Attention), typeof(AttentionKernels)),
        Implicit(nameof(ElementwiseKernels.AddBroadcast), typeof(ElementwiseKernels)),
        Implicit(nameof(ElementwiseKernels.Activate), typeof(ElementwiseKernels)),
        Implicit(nameof(ElementwiseKernels.Transpose), typeof(ElementwiseKernels)),
        Implicit(nameof(ElementwiseKernels.Copy), typeof(ElementwiseKernels)),
        Implicit(nameof(ElementwiseKernels.Widen), typeof(ElementwiseKernels)),
        Implicit(nameof(ConvKernels.ConvTranspose2x2), typeof(ConvKernels)),
        Implicit(nameof(PositionalEncodingKernels.DenseGrid), typeof(PositionalEncodingKernels)),
        Implicit(nameof(PositionalEncodingKernels.Points), typeof(PositionalEncodingKernels)),
        Implicit(nameof(PostprocessKernels.Resize), typeof(PostprocessKernels)),
        Implicit(nameof(PostprocessKernels.Threshold), typeof(PostprocessKernels)),
    ];

    private static KernelEntry Explicit(string name, MethodInfo m) => new(name, m, true);

    private static KernelEntry Explicit(string name, Type owner) => new(name, Find(owner, name), true);

    private static KernelEntry Implicit(string name, Type owner) => new(name, Find(owner, name), false);

    private static MethodInfo Find(Type owner, string name) =>
        owner.GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(owner.Name, name);
}
