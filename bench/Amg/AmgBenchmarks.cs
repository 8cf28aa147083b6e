using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using SamEngine.Amg;
using SamEngine.Modeling;

namespace SamEngine.Bench.Amg;

/// <summary>
/// The automatic mask generator end to end on one image with the official defaults (32 x 32 grid,
/// 64 points per batch, no crops) and generated vit_b weights: one encoder pass and 16 decoder
/// batches of 64 points. The target is 20 s per image on the CPU path; upstream takes 519 s
/// on the same kind of 2-core machine (44 s of it the encoder).
/// A run takes minutes, so it is measured a few times without warm-up iterations.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 3)]
public class AmgBenchmarks
{
    private SamModel _model = null!;
    private AutomaticMaskGenerator _generator = null!;
    private byte[] _image = null!;

    /// <summary>Image size: the vit_b fixture's 480 x 640.</summary>
    public const int Height = 480, Width = 640;

    [GlobalSetup]
    public void Setup()
    {
        _model = SamModel.Load("generated:vit_b");
        _generator = new AutomaticMaskGenerator(_model, new AutomaticMaskGeneratorOptions { OutputMode = AmgOutputMode.CocoRle });
        _image = SyntheticImage(Height, Width);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _generator.Dispose();
        _model.Dispose();
    }

    /// <summary>32 x 32 points over a 480 x 640 image, vit_b.</summary>
    [Benchmark]
    public int Amg_vitb_grid32() => _generator.Generate(_image, Height, Width).Count;

    /// <summary>A gradient with a disc and a bright square: deterministic, and not flat.</summary>
    public static byte[] SyntheticImage(int height, int width)
    {
        var rgb = new byte[height * width * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 3;
                bool disc = (x - width / 3) * (x - width / 3) + (y - height / 2) * (y - height / 2) < height * height / 16;
                bool square = x > width * 2 / 3 && x < width * 5 / 6 && y > height / 5 && y < height / 2;
                rgb[p] = disc ? (byte)220 : (byte)(x * 255 / width);
                rgb[p + 1] = square ? (byte)230 : (byte)(y * 255 / height);
                rgb[p + 2] = (byte)((x + y) * 127 / (width + height));
            }
        return rgb;
    }
}
