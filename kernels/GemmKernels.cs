using ILGPU;
using ILGPU.Runtime;

namespace SamEngine.Kernels;

/// <summary>An operand of <see cref="GemmKernels"/>: element (row, k) of matrix <c>batch</c>.</summary>
public interface IGemmOperand
{
    /// <summary>The value at row <paramref name="row"/>, reduction index <paramref name="k"/>.</summary>
    float Load(int batch, int row, int k);
}

/// <summary>Row-major activation rows [batch][rows][K] (Linear's input; both sides of MatMulTransposed).</summary>
public struct DenseRows<TAct> : IGemmOperand where TAct : struct, IActivations<TAct>
{
    /// <summary>The values.</summary>
    public TAct Data;
    /// <summary>Elements between consecutive rows and between consecutive batches.</summary>
    public int RowStride, BatchStride;

    /// <inheritdoc />
    public readonly float Load(int batch, int row, int k) => Data.Load(batch * BatchStride + row * RowStride + k);
}

/// <summary>fp16 rows [rows][K] (nn.Linear weights [N, K]), shared by all batches.</summary>
public struct HalfRows : IGemmOperand
{
    /// <summary>fp16 bit patterns.</summary>
    public ArrayView<ushort> Bits;
    /// <summary>Reduction length.</summary>
    public int K;

    /// <inheritdoc />
    public readonly float Load(int batch, int row, int k) => DeviceMath.HalfToFloat(Bits[row * K + k]);
}

/// <summary>
/// Implicit im2col of an NHWC image: row = output pixel (b, oy, ox), k = (ky, kx, ci). Padding is
/// read as zero; nothing is materialised.
/// </summary>
public struct ImplicitPatches<TAct> : IGemmOperand where TAct : struct, IActivations<TAct>
{
    /// <summary>Input [B, H, W, Cin].</summary>
    public TAct Image;
    /// <summary>Geometry.</summary>
    public int H, W, Cin, KernelW, Stride, Padding, OutH, OutW;

    /// <inheritdoc />
    public readonly float Load(int batch, int row, int k)
    {
        int pixels = OutH * OutW, b = row / pixels, p = row - b * pixels, oy = p / OutW, ox = p - oy * OutW;
        int tap = k / Cin, ci = k - tap * Cin, ky = tap / KernelW, kx = tap - ky * KernelW;
        int iy = oy * Stride - Padding + ky, ix = ox * Stride - Padding + kx;
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0f;
        return Image.Load(((b * H + iy) * W + ix) * Cin + ci);
    }
}

/// <summary>fp16 conv weight [Cout, Cin, kh, kw] read as rows co with k ordered (ky, kx, ci) to match <see cref="ImplicitPatches{TAct}"/>.</summary>
public struct HalfConvWeight : IGemmOperand
{
    /// <summary>fp16 bit patterns in torch layout.</summary>
    public ArrayView<ushort> Bits;
    /// <summary>Geometry.</summary>
    public int Cin, KernelH, KernelW;

    /// <inheritdoc />
    public readonly float Load(int batch, int row, int k)
    {
        int tap = k / Cin, ci = k - tap * Cin, ky = tap / KernelW, kx = tap - ky * KernelW;
        return DeviceMath.HalfToFloat(Bits[((row * Cin + ci) * KernelH + ky) * KernelW + kx]);
    }
}

/// <summary>Sizes and epilogue of one GEMM launch: C[b] = act(A[b] · B[b]ᵀ + bias) + residual, C [batch][M][N].</summary>
public struct GemmShape
{
    /// <summary>Rows of A and C, rows of B (= columns of C), reduction length.</summary>
    public int M, N, K;
    /// <summary>1 when the fp16 bias [N] is added.</summary>
    public int HasBias;
    /// <summary>1 when the residual (shaped as C) is added after the activation.</summary>
    public int HasResidual;
    /// <summary>Activation code (see <see cref="DeviceMath.Activate"/>).</summary>
    public int Activation;
}

/// <summary>
/// The tiled shared-memory GEMM behind Linear, MatMulTransposed, Conv2d (implicit GEMM) and the
/// patch embedding. A group of 16 x 16 threads computes a 64 x 64 tile of C, 4 x 4 per thread, with
/// K staged through shared memory 16 at a time; accumulation is fp32, fp16 operands are widened on
/// load, and bias, activation and the residual add are applied in the epilogue before the one store.
/// </summary>
public static class GemmKernels
{
    /// <summary>Output tile edge.</summary>
    public const int Tile = 64;
    /// <summary>Reduction slice staged per step.</summary>
    public const int KStep = 16;
    /// <summary>Threads per group edge.</summary>
    public const int Threads = 16;
    private const int PerThread = Tile / Threads;

    /// <summary>Grid (N tiles, M tiles, batch) x group (16, 16).</summary>
    public static void Gemm<TA, TB, TC>(GemmShape s, TA a, TB b, ArrayView<ushort> bias, TC residual, TC c)
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
        where TC : struct, IActivations<TC>
    {
        var aTile = SharedMemory.Allocate<float>(KStep * Tile); // [k][m]
        var bTile = SharedMemory.Allocate<float>(KStep * Tile); // [k][n]
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * Threads + tx;
        int n0 = Grid.IdxX * Tile, m0 = Grid.IdxY * Tile, batch = Grid.IdxZ;
        var acc = LocalMemory.Allocate<float>(PerThread * PerThread);
        for (int i = 0; i < PerThread * PerThread; i++) acc[i] = 0f;

        for (int k0 = 0; k0 < s.K; k0 += KStep)
        {
            for (int e = tid; e < KStep * Tile; e += Threads * Threads)
            {
                int r = e / KStep, kk = e - r * KStep, k = k0 + kk;
                int am = m0 + r, bn = n0 + r;
                aTile[kk * Tile + r] = am < s.M && k < s.K ? a.Load(batch, am, k) : 0f;
                bTile[kk * Tile + r] = bn < s.N && k < s.K ? b.Load(batch, bn, k) : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < KStep; kk++)
                for (int i = 0; i < PerThread; i++)
                {
                    float av = aTile[kk * Tile + ty + i * Threads];
                    for (int j = 0; j < PerThread; j++)
                        acc[i * PerThread + j] += av * bTile[kk * Tile + tx + j * Threads];
                }
            Group.Barrier();
        }

        for (int i = 0; i < PerThread; i++)
        {
            int m = m0 + ty + i * Threads;
            if (m >= s.M) continue;
            for (int j = 0; j < PerThread; j++)
            {
                int n = n0 + tx + j * Threads;
                if (n >= s.N) continue;
                float v = acc[i * PerThread + j];
                if (s.HasBias != 0) v += DeviceMath.HalfToFloat(bias[n]);
                v = DeviceMath.Activate(v, s.Activation);
                int at = (batch * s.M + m) * s.N + n;
                if (s.HasResidual != 0) v += residual.Load(at);
                c.Store(at, v);
            }
        }
    }

    /// <summary>The launch configuration for <paramref name="s"/> and <paramref name="batch"/> matrices.</summary>
    public static KernelConfig Config(GemmShape s, int batch) =>
        new(new Index3D((s.N + Tile - 1) / Tile, (s.M + Tile - 1) / Tile, batch), new Index3D(Threads, Threads, 1));
}

/// <summary>Loads the GEMM instantiations for one activation format on one accelerator and launches them.</summary>
public sealed class GemmLauncher<TAct>(Accelerator accelerator) where TAct : struct, IActivations<TAct>
{
    private readonly Lazy<Action<KernelConfig, GemmShape, DenseRows<TAct>, HalfRows, ArrayView<ushort>, TAct, TAct>> _linear =
        new(() => accelerator.LoadStreamKernel<GemmShape, DenseRows<TAct>, HalfRows, ArrayView<ushort>, TAct, TAct>(GemmKernels.Gemm));
    private readonly Lazy<Action<KernelConfig, GemmShape, DenseRows<TAct>, DenseRows<TAct>, ArrayView<ushort>, TAct, TAct>> _dense =
        new(() => accelerator.LoadStreamKernel<GemmShape, DenseRows<TAct>, DenseRows<TAct>, ArrayView<ushort>, TAct, TAct>(GemmKernels.Gemm));
    private readonly Lazy<Action<KernelConfig, GemmShape, ImplicitPatches<TAct>, HalfConvWeight, ArrayView<ushort>, TAct, TAct>> _conv =
        new(() => accelerator.LoadStreamKernel<GemmShape, ImplicitPatches<TAct>, HalfConvWeight, ArrayView<ushort>, TAct, TAct>(GemmKernels.Gemm));

    /// <summary>
    /// y [M, N] = act(x [M, K] · Wᵀ + bias) + residual, W fp16 [N, K]; <paramref name="bias"/> is ignored
    /// when <paramref name="hasBias"/> is false, <paramref name="residual"/> when it is null.
    /// </summary>
    public void Linear(TAct x, int m, ArrayView<ushort> weight, int n, int k, ArrayView<ushort> bias, bool hasBias, int activation, TAct? residual, TAct y)
    {
        var s = new GemmShape { M = m, N = n, K = k, HasBias = hasBias ? 1 : 0, Activation = activation, HasResidual = residual.HasValue ? 1 : 0 };
        _linear.Value(GemmKernels.Config(s, 1), s, new DenseRows<TAct> { Data = x, RowStride = k }, new HalfRows { Bits = weight, K = k }, bias, residual ?? y, y);
    }

    /// <summary>y [B, M, N] = a [B, M, K] · b [B, N, K]ᵀ.</summary>
    public void MatMulTransposed(TAct a, TAct b, int batch, int m, int n, int k, ArrayView<ushort> noBias, TAct y)
    {
        var s = new GemmShape { M = m, N = n, K = k };
        _dense.Value(GemmKernels.Config(s, batch), s,
            new DenseRows<TAct> { Data = a, RowStride = k, BatchStride = m * k }, new DenseRows<TAct> { Data = b, RowStride = k, BatchStride = n * k }, noBias, y, y);
    }

    /// <summary>NHWC convolution as an implicit GEMM: y [B·Ho·Wo, Cout].</summary>
    public void Conv2d(ImplicitPatches<TAct> patches, int pixels, HalfConvWeight weight, int cout, ArrayView<ushort> bias, bool hasBias, TAct y)
    {
        var s = new GemmShape { M = pixels, N = cout, K = weight.KernelH * weight.KernelW * weight.Cin, HasBias = hasBias ? 1 : 0 };
        _conv.Value(GemmKernels.Config(s, 1), s, patches, weight, bias, y, y);
    }
}
