using SamEngine.Kernels;
using SamEngine.Parity;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// The flash-style attention kernel: windowed ViT attention on a grid the window does not divide
/// (padding keys), global attention with rel-pos, 3 and 5 heads with odd head dims, and decoder
/// attention with a single query token and more keys than one key tile.
/// </summary>
public abstract class AttentionKernelTests : KernelTestBase
{
    private void Vit(int seed, int h, int w, int heads, int headDim, int window)
    {
        int c = heads * headDim, wh = window > 0 ? window : h, ww = window > 0 ? window : w;
        var (r, d) = Input(seed, 1, h, w, 3 * c);
        var relH = Param("attn.rel_pos_h", 2 * wh - 1, headDim);
        var relW = Param("attn.rel_pos_w", 2 * ww - 1, headDim);
        var bias = Param("attn.qkv.bias", 3 * c);
        AssertClose($"vit attention {h}x{w} window {window}", Reference.VitAttention(r, heads, window, relH, relW, bias),
            Device.VitAttention(d, heads, window, relH, relW, bias));
    }

    [AcceleratorFact]
    public void WindowedAttentionWithPadding() => Vit(1, 5, 7, heads: 3, headDim: 5, window: 3);

    [AcceleratorFact]
    public void GlobalAttentionWithRelPos() => Vit(2, 5, 7, heads: 5, headDim: 4, window: 0);

    [AcceleratorFact]
    public void HieraAttentionPooledInPaddedOddWindows()
    {
        // 12 x 10 in 7 x 7 windows (padded to 14 x 14), queries pooled into 3 x 3 windows over 6 x 5.
        var (r, d) = Input(6, 1, 12, 10, 3 * 6);
        var bias = Param("attn.qkv.bias", 3 * 6);
        AssertClose("hiera attention pooled", Reference.HieraAttention(r, 2, 7, true, bias), Device.HieraAttention(d, 2, 7, true, bias));
        AssertClose("hiera attention global", Reference.HieraAttention(r, 3, 0, false, bias), Device.HieraAttention(d, 3, 0, false, bias));
    }

    [AcceleratorFact]
    public void DecoderAttentionSingleQueryToken()
    {
        var (rq, dq) = Input(3, 2, 1, 12);
        var (rk, dk) = Input(4, 2, 70, 12);
        var (rv, dv) = Input(5, 2, 70, 12);
        AssertClose("token to image", Reference.Attention(rq, rk, rv, 3), Device.Attention(dq, dk, dv, 3));
    }

    [AcceleratorFact]
    public void DecoderSelfAttentionFiveHeads()
    {
        var (rq, dq) = Input(6, 1, 7, 20);
        var (rk, dk) = Input(7, 1, 7, 20);
        var (rv, dv) = Input(8, 1, 7, 20);
        AssertClose("token self attention", Reference.Attention(rq, rk, rv, 5), Device.Attention(dq, dk, dv, 5));
    }
}

[Accelerator(IlgpuDeviceKind.Cpu), Collection("ilgpu")] public sealed class AttentionKernelsOnCpuAccelerator : AttentionKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda), Collection("ilgpu")] public sealed class AttentionKernelsOnCuda : AttentionKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL), Collection("ilgpu")] public sealed class AttentionKernelsOnOpenCL : AttentionKernelTests;
[Accelerator(IlgpuDeviceKind.Cpu, Precision.Fp16), Collection("ilgpu")] public sealed class AttentionKernelsFp16OnCpuAccelerator : AttentionKernelTests;
[Accelerator(IlgpuDeviceKind.Cuda, Precision.Fp16), Collection("ilgpu")] public sealed class AttentionKernelsFp16OnCuda : AttentionKernelTests;
[Accelerator(IlgpuDeviceKind.OpenCL, Precision.Fp16), Collection("ilgpu")] public sealed class AttentionKernelsFp16OnOpenCL : AttentionKernelTests;
