namespace SamEngine.Weights;

/// <summary>
/// Where model weights come from: a checkpoint file or the seeded generator. The model asks for every
/// weight by its official name and expected shape; the source checks the shape and names the tensor
/// in any error.
/// </summary>
public interface IWeightSource
{
    /// <summary>Returns the weight <paramref name="name"/>, which must have exactly <paramref name="shape"/>.</summary>
    Parameter Get(string name, int[] shape);

    /// <summary>Every tensor name the source holds (for the strict end-of-load check).</summary>
    IEnumerable<string> Names { get; }
}

/// <summary>Thrown when weights do not fit the architecture: missing, unexpected or misshapen tensors.</summary>
public sealed class WeightException : Exception
{
    /// <summary>Creates the exception with a message that names the tensor(s).</summary>
    public WeightException(string message) : base(message) { }
}
