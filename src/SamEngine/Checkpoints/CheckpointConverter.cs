using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;

namespace SamEngine.Checkpoints;

/// <summary>What <see cref="CheckpointConverter.Convert"/> did.</summary>
/// <param name="Architecture">The architecture written to <c>sam_architecture</c>, checked against every tensor.</param>
/// <param name="TensorCount">Tensors written.</param>
/// <param name="ParameterCount">Values written.</param>
/// <param name="HuggingFaceNames">Whether the input used the Hugging Face naming.</param>
/// <param name="IgnoredVideoTensors">SAM 2.x video-only tensors the input held and the output leaves out (see <see cref="Sam2VideoTensors"/>).</param>
/// <param name="IgnoredUnusedTensors">MobileSAM tensors SAM never reads, left out likewise (see <see cref="MobileSamUnusedTensors"/>).</param>
public sealed record ConversionResult(SamArchitecture Architecture, int TensorCount, long ParameterCount, bool HuggingFaceNames,
    IReadOnlyList<string>? IgnoredVideoTensors = null, IReadOnlyList<string>? IgnoredUnusedTensors = null);

/// <summary>
/// Converts an official PyTorch checkpoint (<c>.pth</c>) or a safetensors file (fp32, fp16 or bf16;
/// official or Hugging Face names) into a safetensors file with the official names, in one dtype,
/// with the architecture in the metadata key <c>sam_architecture</c>. The output is validated by
/// building the model over it before it is moved into place, so a bad conversion leaves no file.
/// </summary>
public static class CheckpointConverter
{
    /// <summary>The output dtypes: F16 (default), BF16 or F32.</summary>
    public static readonly SafeTensorDType[] OutputTypes = [SafeTensorDType.F16, SafeTensorDType.BF16, SafeTensorDType.F32];

    /// <summary>
    /// Converts <paramref name="input"/> to <paramref name="output"/>. The architecture is
    /// <paramref name="arch"/>, else the input's <c>sam_architecture</c> metadata, else inferred from the shapes.
    /// <paramref name="progress"/> receives (tensors done, tensor count).
    /// </summary>
    public static ConversionResult Convert(string input, string output, SafeTensorDType dtype = SafeTensorDType.F16,
        SamArchitecture? arch = null, Action<int, int>? progress = null)
    {
        if (!OutputTypes.Contains(dtype)) throw new ArgumentException($"output dtype {dtype} is not one of F16, BF16, F32");
        using var reader = CheckpointReader.Open(input);
        bool hf = HuggingFaceNames.IsHuggingFace(reader.Tensors.Select(t => t.Name));
        bool promptEncoderHasCopy = reader.Tensors.Any(t => t.Name == HuggingFaceNames.PromptEncoderPositionalEmbedding);
        var writer = new SafeTensorsWriter();
        var written = new HashSet<string>(StringComparer.Ordinal);
        long values = 0;
        int done = 0;
        foreach (var t in reader.Tensors)
        {
            progress?.Invoke(done++, reader.Tensors.Count);
            string? name = hf ? HuggingFaceNames.ToOfficial(t.Name, promptEncoderHasCopy) : t.Name;
            if (name is null) continue;
            if (!t.DType.IsFloatingPoint()) throw new CheckpointException($"'{input}': tensor '{t.Name}' has dtype {t.DType}; SAM weights are floating point");
            if (!written.Add(name)) throw new CheckpointException($"'{input}': two tensors map to the official name '{name}'");
            writer.Add(name, dtype, t.Shape, Cast(reader.ReadBytes(t), t.DType, dtype));
            values += Weights.ShapeUtil.Count(t.Shape);
        }
        arch ??= reader is SafeTensorsReader st ? st.Architecture : null;

        // Write under a temporary name, check the model builds over it (inferring the architecture
        // when none was given), then publish it with the architecture in its metadata.
        string full = Path.GetFullPath(output);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.check");
        try
        {
            writer.Write(temp, Metadata(arch, input));
            try
            {
                using var model = SamModel.Load(temp, arch);
                arch = model.Architecture;
            }
            catch (Weights.WeightException e)
            {
                throw new Weights.WeightException($"'{input}': {e.Message.Replace($"'{temp}': ", "")}");
            }
            writer.Write(full, Metadata(arch, input));
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return new ConversionResult(arch, written.Count, values, hf, reader.IgnoredVideoTensors, reader.IgnoredUnusedTensors);
    }

    /// <summary>
    /// Writes the weights of a loaded model (e.g. <c>generated:vit_h</c>) to <paramref name="output"/>
    /// in <paramref name="dtype"/>, with its architecture in <c>sam_architecture</c>.
    /// </summary>
    public static ConversionResult Write(SamModel model, string output, SafeTensorDType dtype = SafeTensorDType.F16)
    {
        if (!OutputTypes.Contains(dtype)) throw new ArgumentException($"output dtype {dtype} is not one of F16, BF16, F32");
        var writer = new SafeTensorsWriter();
        foreach (var p in model.Parameters)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.HalfBits);
            writer.Add(p.Name, dtype, p.Shape, dtype == SafeTensorDType.F16 ? bytes : Cast(bytes.ToArray(), SafeTensorDType.F16, dtype));
        }
        writer.Write(output, Metadata(model.Architecture, model.Description));
        return new ConversionResult(model.Architecture, model.Parameters.Count, model.ParameterCount, HuggingFaceNames: false);
    }

    private static Dictionary<string, string> Metadata(SamArchitecture? arch, string input)
    {
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["converted_from"] = Path.GetFileName(input) };
        if (arch is not null) meta["sam_architecture"] = arch.ToJson();
        return meta;
    }

    /// <summary>Converts little-endian elements between float types, rounding to nearest even.</summary>
    internal static byte[] Cast(byte[] src, SafeTensorDType from, SafeTensorDType to)
    {
        if (from == to) return src;
        var dst = new byte[src.Length / from.ElementSize() * to.ElementSize()];
        Cast(src, from, to, dst);
        return dst;
    }

    /// <summary>
    /// A tensor's elements as the fp16 bits that <see cref="Convert"/> writes for them: loading a
    /// checkpoint directly gives the same parameters as converting it first.
    /// </summary>
    internal static ushort[] ToHalfBits(ReadOnlySpan<byte> src, SafeTensorDType from)
    {
        var bits = new ushort[src.Length / from.ElementSize()];
        Cast(src, from, SafeTensorDType.F16, MemoryMarshal.AsBytes(bits.AsSpan()));
        return bits;
    }

    private static void Cast(ReadOnlySpan<byte> src, SafeTensorDType from, SafeTensorDType to, Span<byte> dst)
    {
        if (from == to)
        {
            src.CopyTo(dst);
            return;
        }
        int n = src.Length / from.ElementSize();
        for (int i = 0; i < n; i++)
        {
            var s = src[(i * from.ElementSize())..];
            var d = dst[(i * to.ElementSize())..];
            switch (to)
            {
                // double -> half directly: going through float would round twice.
                case SafeTensorDType.F16 when from == SafeTensorDType.F64:
                    BinaryPrimitives.WriteUInt16LittleEndian(d, BitConverter.HalfToUInt16Bits((Half)BinaryPrimitives.ReadDoubleLittleEndian(s)));
                    break;
                case SafeTensorDType.F16: BinaryPrimitives.WriteUInt16LittleEndian(d, BitConverter.HalfToUInt16Bits((Half)Read(s, from))); break;
                case SafeTensorDType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(d, ToBFloat16(Read(s, from))); break;
                case SafeTensorDType.F32: BinaryPrimitives.WriteSingleLittleEndian(d, Read(s, from)); break;
            }
        }
    }

    private static float Read(ReadOnlySpan<byte> s, SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => BinaryPrimitives.ReadSingleLittleEndian(s),
        SafeTensorDType.F16 => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(s)),
        SafeTensorDType.BF16 => Weights.Fp16.BFloat16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(s)),
        SafeTensorDType.F64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(s),
        _ => throw new ArgumentException($"dtype {dtype} is not floating point"),
    };

    /// <summary>float32 to bfloat16 bits, round to nearest even; NaN stays a quiet NaN.</summary>
    internal static ushort ToBFloat16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}
