using SamEngine.Config;
using SamEngine.IO;
using SamEngine.Modeling;

namespace SamEngine.Tests.Modeling;

/// <summary>A SAM 2.1 embedding file holds its three levels, and the families do not mix.</summary>
public class Sam2EmbeddingFileTests
{
    private static string Dir => TestFixtures.Local("sam2.1_tiny");

    private static SamModel Sam2Model() => SamModel.Load(Path.Combine(Dir, "model.safetensors"),
        SamArchitecture.FromJson(File.ReadAllText(Path.Combine(Dir, "cases.json"))));

    [Fact]
    public void ThreeLevelsRoundTripAndTheFamiliesAreRefusedEachOther()
    {
        using var reference = SafeTensorsFile.Open(Path.Combine(Dir, "reference.safetensors"));
        using var model = Sam2Model();
        using var predictor = new SamPredictor(model);
        predictor.SetEmbedding(reference.ReadFloat32("image_embeddings"), 200, 300,
            reference.ReadFloat32("high_res_feats_0"), reference.ReadFloat32("high_res_feats_1"));
        var prompt = new SamPrompt { Points = [(81f, 76f, 1)] };
        var before = predictor.Predict(prompt, multimask: true);
        string dir = Path.Combine(Path.GetTempPath(), $"emb2-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "e.safetensors");
            EmbeddingFile.Save(path, model, predictor.Embedding!);
            using var again = new SamPredictor(model);
            var loaded = EmbeddingFile.Load(path, model, again);
            Assert.Equal(predictor.Embedding!.HighResFeats0, loaded.HighResFeats0);
            Assert.Equal(predictor.Embedding!.HighResFeats1, loaded.HighResFeats1);
            Assert.Equal(before.LowResLogits, again.Predict(prompt, multimask: true).LowResLogits);

            // A SAM 1 model refuses it, in one line naming the family.
            using var sam1 = TestFixtures.LoadModel("tiny");
            using var p1 = new SamPredictor(sam1);
            var e = Assert.Throws<ArgumentException>(() => EmbeddingFile.Load(path, sam1, p1));
            Assert.Contains("SAM 2.1 embedding", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_sam2_model_needs_the_high_resolution_levels()
    {
        using var model = Sam2Model();
        using var predictor = new SamPredictor(model);
        int d = model.Architecture.PromptEmbedDim, g = model.Architecture.GridSize;
        var e = Assert.Throws<ArgumentException>(() => predictor.SetEmbedding(new float[d * g * g], 200, 300));
        Assert.Contains("high_res_feats_0", e.Message);
    }
}
