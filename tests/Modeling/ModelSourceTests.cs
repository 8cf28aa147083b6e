using SamEngine.Checkpoints;
using SamEngine.IO;
using SamEngine.Modeling;

namespace SamEngine.Tests.Modeling;

/// <summary><see cref="ModelSource"/>: what a model name stands for, and the shipped demo model it resolves.</summary>
public sealed class ModelSourceTests
{
    [Fact]
    public void Demo_is_the_repository_file_copied_beside_the_program()
    {
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "weights", "demo", "sam_demo.safetensors"), ModelSource.DemoPath);
        Assert.True(File.Exists(ModelSource.DemoPath), $"'{ModelSource.DemoPath}' is missing");
        Assert.Equal(File.ReadAllBytes(TestFixtures.InRepository(Path.Combine("weights", "demo", "sam_demo.safetensors"))),
            File.ReadAllBytes(ModelSource.DemoPath));
    }

    [Fact]
    public void Demo_loads_with_the_architecture_its_file_records()
    {
        using var file = SafeTensorsFile.Open(ModelSource.DemoPath);
        var stored = SafeTensorsReader.StoredArchitecture(file);
        Assert.NotNull(stored);
        using var model = SamModel.Load(ModelSource.Demo);
        Assert.Equal("demo", model.Description);
        Assert.Equal(stored.ToJson(), model.Architecture.ToJson());
        using var byPath = SamModel.Load(ModelSource.DemoPath, arch: null, backend: null);
        Assert.Equal(byPath.Fingerprint, model.Fingerprint);
        Assert.Equal(ModelSource.DemoPath, byPath.Description);
    }

    [Fact]
    public void File_path_is_the_shipped_file_for_demo_none_for_generated_else_the_name_itself()
    {
        Assert.Equal(ModelSource.DemoPath, ModelSource.FilePath("demo"));
        Assert.Null(ModelSource.FilePath("generated:vit_b"));
        Assert.Null(ModelSource.FilePath("generated:sam2.1_hiera_t:3"));
        Assert.Equal("weights/sam_vit_b.safetensors", ModelSource.FilePath("weights/sam_vit_b.safetensors"));
        Assert.Equal("./demo", ModelSource.FilePath("./demo")); // a file called demo
        Assert.Equal("Demo", ModelSource.FilePath("Demo"));
    }
}
