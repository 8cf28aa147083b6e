using SamEngine.Backends;
using SamEngine.Weights;

namespace SamEngine.Tests.Backends.Cpu;

/// <summary>Random fp16 conv weights and BatchNorms (running_var positive, as a variance is) for the conv kernels' tests.</summary>
internal sealed class RandomConvWeights(Random rng)
{
    /// <summary>A parameter of <paramref name="shape"/> with values f(u), u uniform in [-1, 1), stored as fp16.</summary>
    public Parameter Parameter(string name, Func<float, float> f, params int[] shape) =>
        new(name, shape, GemmTests.Random(rng, (int)ShapeUtil.Count(shape)).Select(v => Fp16.FromFloat(f(v))).ToArray());

    /// <summary>The BatchNorm <c>{name}.bn.*</c> over <paramref name="channels"/>.</summary>
    public BatchNorm BatchNorm(string name, int channels) => new(Parameter($"{name}.bn.weight", v => v, channels),
        Parameter($"{name}.bn.bias", v => v, channels), Parameter($"{name}.bn.running_mean", v => 0.1f * v, channels),
        Parameter($"{name}.bn.running_var", v => 1 + 0.1f * v, channels), 1e-5f);
}
