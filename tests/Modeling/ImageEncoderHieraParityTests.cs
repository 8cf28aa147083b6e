using SamEngine.Backends;
using SamEngine.Backends.Cpu;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Kernels;
using SamEngine.Modeling;
using SamEngine.Parity;
using SamEngine.Weights;
using Xunit.Abstractions;

namespace SamEngine.Tests.Modeling;

/// <summary>
/// The Hiera encoder against the official sam2 code: every trunk and neck tensor the SAM 2.1 fixtures
/// recorded, from the fixture's own input tensor and weights, within the fp32 limits of
/// <see cref="TensorCompare"/> (rel L2 ≤ 1e-4, 1e-3 where the reference is stored as float16).
/// </summary>
[Collection("ilgpu")]
public sealed class ImageEncoderHieraParityTests(ITestOutputHelper output)
{
    /// <summary>The references upstream keeps NCHW; the engine's taps are NHWC.</summary>
    private static bool IsNchw(string name) => name.StartsWith("trunk.stage_", StringComparison.Ordinal) || name.StartsWith("neck.", StringComparison.Ordinal);

    [Theory]
    [InlineData("sam2.1_tiny")]
    [InlineData("sam2.1_odd")]
    public void EveryTapMatchesTheOfficialEncoder(string fixture) => Check(fixture, "cpu");

    /// <summary>On ILGPU's CPU accelerator (about 90 s): with the ILGPU parity tests' category.</summary>
    [Fact, Trait("Category", "IlgpuParity")]
    public void EveryTapMatchesTheOfficialEncoderOnIlgpuCpu() => Check("sam2.1_tiny", "ilgpu-cpu");

    private void Check(string fixture, string backend)
    {
        string dir = TestFixtures.Local(fixture);
        var arch = SamArchitecture.FromJson(File.ReadAllText(Path.Combine(dir, "cases.json")));
        using var reference = SafeTensorsFile.Open(Path.Combine(dir, "reference.safetensors"));
        using var weights = SafeTensorsWeightSource.Open(Path.Combine(dir, "model.safetensors"));
        var encoder = new ImageEncoderHiera(new WeightScope(weights).Push("image_encoder"), arch);
        using IBackend be = backend == "cpu" ? new CpuBackend() : IlgpuBackend.Create(IlgpuDeviceKind.Cpu);

        int s = arch.ImgSize;
        var nchw = reference.ReadFloat32("input_tensor");
        Assert.Equal(3 * s * s, nchw.Length);
        var taps = new Dictionary<string, Tensor>();
        using var image = be.FromHost(ToNhwc(nchw, 3, s, s), 1, s, s, 3);
        var levels = encoder.Forward(be, image, (name, t) => taps.Add(name, t));
        try
        {
            var expected = reference.Tensors.Keys.Where(n => n.StartsWith("trunk.", StringComparison.Ordinal) || n.StartsWith("neck.", StringComparison.Ordinal)).Order().ToList();
            Assert.True(expected.Count >= 12, $"{fixture}: only {expected.Count} encoder tensors in the reference");
            var failures = new List<string>();
            foreach (string name in expected)
            {
                Assert.True(taps.TryGetValue(name, out var t), $"the encoder has no tap '{name}'");
                var info = reference.Info(name);
                var refValues = reference.ReadFloat32(name);
                int[] refShape = info.Shape;
                if (IsNchw(name))
                {
                    Assert.Equal([refShape[0], refShape[2], refShape[3], refShape[1]], t!.Shape);
                    refValues = ToNhwc(refValues, refShape[1], refShape[2], refShape[3]);
                }
                else Assert.Equal(refShape, t!.Shape);
                var c = TensorCompare.Compare(name, be.ToHost(t), refValues, info.DType == SafeTensorDType.F16, Precision.Fp32);
                output.WriteLine($"{fixture} {backend} {name,-18} rel L2 {c.RelL2:E2}  max abs {c.MaxAbs:E2}  limit {c.Limit:E0}");
                if (!c.Passed) failures.Add($"{name}: rel L2 {c.RelL2:E2} > {c.Limit:E0}; {c.Detail}");
            }
            Assert.True(failures.Count == 0, $"{fixture} on {backend}:\n" + string.Join("\n", failures));
        }
        finally
        {
            foreach (var t in taps.Values.Concat(levels).Distinct()) t.Dispose();
        }
    }

    /// <summary>[C, H, W] → [H, W, C].</summary>
    private static float[] ToNhwc(float[] x, int c, int h, int w)
    {
        var y = new float[x.Length];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < h * w; i++) y[i * c + ch] = x[ch * h * w + i];
        return y;
    }
}
