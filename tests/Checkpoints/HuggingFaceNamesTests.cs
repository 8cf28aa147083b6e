using System.Text.RegularExpressions;
using SamEngine.Checkpoints;
using SamEngine.Config;
using SamEngine.IO;

namespace SamEngine.Tests.Checkpoints;

public class HuggingFaceNamesTests
{
    /// <summary>
    /// The forward renaming, official to Hugging Face, as transformers' convert_sam_to_hf.py describes
    /// it (ordered substring replacements, then the hypernetwork MLP layers); written independently of
    /// the library's reverse mapping so each checks the other.
    /// </summary>
    private static string ToHf(string key)
    {
        (string, string)[] renames =
        [
            ("iou_prediction_head.layers.0", "iou_prediction_head.proj_in"),
            ("iou_prediction_head.layers.1", "iou_prediction_head.layers.0"),
            ("iou_prediction_head.layers.2", "iou_prediction_head.proj_out"),
            ("mask_decoder.output_upscaling.0", "mask_decoder.upscale_conv1"),
            ("mask_decoder.output_upscaling.1", "mask_decoder.upscale_layer_norm"),
            ("mask_decoder.output_upscaling.3", "mask_decoder.upscale_conv2"),
            ("mask_downscaling.0", "mask_embed.conv1"),
            ("mask_downscaling.1", "mask_embed.layer_norm1"),
            ("mask_downscaling.3", "mask_embed.conv2"),
            ("mask_downscaling.4", "mask_embed.layer_norm2"),
            ("mask_downscaling.6", "mask_embed.conv3"),
            ("point_embeddings", "point_embed"),
            ("pe_layer.positional_encoding_gaussian_matrix", "shared_embedding.positional_embedding"),
            ("image_encoder", "vision_encoder"),
            ("neck.0", "neck.conv1"),
            ("neck.1", "neck.layer_norm1"),
            ("neck.2", "neck.conv2"),
            ("neck.3", "neck.layer_norm2"),
            ("patch_embed.proj", "patch_embed.projection"),
            (".norm", ".layer_norm"),
            ("blocks", "layers"),
        ];
        foreach (var (from, to) in renames)
            if (key.Contains(from)) key = key.Replace(from, to);
        var m = Regex.Match(key, @".*.output_hypernetworks_mlps.(\d+).layers.(\d+).*");
        if (m.Success)
            key = m.Groups[2].Value switch
            {
                "0" => key.Replace("layers.0", "proj_in"),
                "1" => key.Replace("layers.1", "layers.0"),
                _ => key.Replace("layers.2", "proj_out"),
            };
        return key;
    }

    [Theory]
    [InlineData("vision_encoder.layers.3.layer_norm1.weight", "image_encoder.blocks.3.norm1.weight")]
    [InlineData("vision_encoder.patch_embed.projection.bias", "image_encoder.patch_embed.proj.bias")]
    [InlineData("vision_encoder.neck.layer_norm2.weight", "image_encoder.neck.3.weight")]
    [InlineData("vision_encoder.layers.0.attn.rel_pos_h", "image_encoder.blocks.0.attn.rel_pos_h")]
    [InlineData("prompt_encoder.shared_embedding.positional_embedding", "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")]
    [InlineData("prompt_encoder.mask_embed.conv3.weight", "prompt_encoder.mask_downscaling.6.weight")]
    [InlineData("prompt_encoder.point_embed.2.weight", "prompt_encoder.point_embeddings.2.weight")]
    [InlineData("mask_decoder.iou_prediction_head.proj_in.weight", "mask_decoder.iou_prediction_head.layers.0.weight")]
    [InlineData("mask_decoder.iou_prediction_head.layers.0.weight", "mask_decoder.iou_prediction_head.layers.1.weight")]
    [InlineData("mask_decoder.output_hypernetworks_mlps.2.proj_out.bias", "mask_decoder.output_hypernetworks_mlps.2.layers.2.bias")]
    [InlineData("mask_decoder.transformer.layer_norm_final_attn.weight", "mask_decoder.transformer.norm_final_attn.weight")]
    [InlineData("mask_decoder.transformer.layers.1.layer_norm4.bias", "mask_decoder.transformer.layers.1.norm4.bias")]
    [InlineData("mask_decoder.upscale_layer_norm.weight", "mask_decoder.output_upscaling.1.weight")]
    public void MapsNamesBack(string hf, string official) => Assert.Equal(official, HuggingFaceNames.ToOfficial(hf));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HuggingFaceNamedFileConvertsToTheShippedFile(bool tiedCopyOnlyAtTopLevel)
    {
        string dir = TestFiles.TempDir();
        string hfPath = Path.Combine(dir, "hf.safetensors");
        var writer = new SafeTensorsWriter();
        using (var tiny = SafeTensorsFile.Open(TestFiles.TinyModel))
        {
            foreach (var (name, info) in tiny.Tensors)
            {
                // As transformers saves it: fp32, renamed, with the positional matrix shared at the top too.
                // save_pretrained may keep only one of two tied tensors: try both forms.
                bool positional = name == "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix";
                if (!(positional && tiedCopyOnlyAtTopLevel)) writer.AddFloat32(ToHf(name), info.Shape, tiny.ReadFloat32(name));
                if (positional) writer.AddFloat32(HuggingFaceNames.SharedImageEmbedding, info.Shape, tiny.ReadFloat32(name));
            }
        }
        writer.Write(hfPath);
        using (var hf = SafeTensorsFile.Open(hfPath))
            Assert.Contains(hf.Tensors.Keys, k => k.StartsWith("vision_encoder.layers.", StringComparison.Ordinal));

        string outPath = Path.Combine(dir, "official.safetensors");
        var result = CheckpointConverter.Convert(hfPath, outPath, arch: SamArchitecture.FromJson(File.ReadAllText(TestFiles.TinyArch)));
        Assert.True(result.HuggingFaceNames);
        CheckpointConverterTests.AssertSameTensors(TestFiles.TinyModel, outPath);
    }
}
