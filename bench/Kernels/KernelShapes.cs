namespace SamEngine.Bench.Kernels;

/// <summary>
/// SAM's kernel shapes by name. Each has a GPU size (the real model's) and a small size for ILGPU's CPU
/// accelerator, which is a correctness simulator, so its numbers only show the harness works.
/// </summary>
public static class KernelShapes
{
    /// <summary>GEMM shapes (M tokens, K in, N out).</summary>
    public static (int M, int K, int N) Gemm(string name, bool gpu) => (name, gpu) switch
    {
        ("vitb_qkv", true) => (4096, 768, 2304),
        ("vitb_mlp", true) => (4096, 768, 3072),
        ("vith_mlp", true) => (4096, 1280, 5120),
        ("decoder_mlp", true) => (7, 256, 2048),
        ("vitb_qkv", false) => (64, 96, 288),
        ("vitb_mlp", false) => (64, 96, 384),
        ("vith_mlp", false) => (64, 160, 640),
        ("decoder_mlp", false) => (7, 32, 256),
        _ => throw new ArgumentException($"unknown GEMM shape '{name}'"),
    };

    /// <summary>ViT attention shapes (grid, heads, head dim, window; 0 = global).</summary>
    public static (int Grid, int Heads, int HeadDim, int Window) Vit(string name, bool gpu) => (name, gpu) switch
    {
        ("window14_attn", true) => (64, 12, 64, 14),
        ("global_attn_4096", true) => (64, 12, 64, 0),
        ("vith_window14_attn", true) => (64, 16, 80, 14),
        ("window14_attn", false) => (16, 2, 16, 14),
        ("global_attn_4096", false) => (8, 2, 16, 0),
        ("vith_window14_attn", false) => (16, 2, 20, 14),
        _ => throw new ArgumentException($"unknown attention shape '{name}'"),
    };

    /// <summary>Decoder attention shapes (batch, queries, keys, channels, heads).</summary>
    public static (int Batch, int Nq, int Nk, int C, int Heads) Decoder(string name, bool gpu) => (name, gpu) switch
    {
        ("decoder_token_to_image", true) => (1, 7, 4096, 128, 8),
        ("decoder_image_to_token", true) => (1, 4096, 7, 128, 8),
        ("decoder_token_to_image", false) => (1, 7, 256, 16, 2),
        ("decoder_image_to_token", false) => (1, 256, 7, 16, 2),
        _ => throw new ArgumentException($"unknown decoder attention shape '{name}'"),
    };
}
