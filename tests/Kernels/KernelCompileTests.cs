using System.Diagnostics;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using SamEngine.Kernels;
using Xunit.Abstractions;

namespace SamEngine.Tests.Kernels;

/// <summary>
/// Every kernel compiles, without any device, to PTX for sm_80 and to OpenCL C 2.0; where clang is
/// installed the OpenCL C is also compiled by clang to SPIR bitcode (<c>-emit-llvm</c>: Debian's clang 14
/// has the spir64 front end but no object emitter), which catches source ILGPU emits but a driver
/// would reject.
/// </summary>
public sealed class KernelCompileTests(ITestOutputHelper output)
{
    public static TheoryData<string> Kernels() => new(KernelCatalog.All.Select(k => k.Name));

    private static KernelEntry Entry(string name) => KernelCatalog.All.Single(k => k.Name == name);

    private static EntryPointDescription Describe(KernelEntry k) => k.ExplicitlyGrouped
        ? EntryPointDescription.FromExplicitlyGroupedKernel(k.Method)
        : EntryPointDescription.FromImplicitlyGroupedKernel(k.Method);

    private static CompiledKernel Compile(KernelEntry k, Func<Context, Backend> backend)
    {
        using var context = Context.Create(b => b.EnableAlgorithms());
        using var be = backend(context);
        try { return be.Compile(Describe(k), KernelSpecialization.Empty); }
        catch (Exception e)
        {
            var chain = new List<string>();
            for (var x = e; x is not null; x = x.InnerException) chain.Add($"{x.GetType().Name}: {x.Message}");
            throw new Xunit.Sdk.XunitException($"{k.Name} failed to compile for {be.GetType().Name}:\n  " + string.Join("\n  ", chain));
        }
    }

    [Theory, MemberData(nameof(Kernels))]
    public void CompilesToPtxSm80(string name)
    {
        var compiled = (PTXCompiledKernel)Compile(Entry(name), c => new PTXBackend(c, CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null!));
        Assert.Contains(".entry", compiled.PTXAssembly);
    }

    [Theory, MemberData(nameof(Kernels))]
    public void CompilesToOpenCLC20(string name)
    {
        var compiled = (CLCompiledKernel)Compile(Entry(name), c => new CLBackend(c, OpenCLCapabilities(), CLDeviceVendor.Other, CLCVersion.CL20));
        Assert.Contains("kernel", compiled.Source);
        string? clang = FindClang();
        if (clang is null)
        {
            output.WriteLine("clang not installed: the OpenCL C was not compiled to SPIR");
            return;
        }
        string dir = Directory.CreateTempSubdirectory("samengine-cl-").FullName;
        try
        {
            string src = Path.Combine(dir, "kernel.cl");
            File.WriteAllText(src, compiled.Source);
            var psi = new ProcessStartInfo(clang, ["-x", "cl", "-cl-std=CL2.0", "-Xclang", "-finclude-default-header", "-target", "spir64", "-emit-llvm", "-c", src, "-o", Path.Combine(dir, "kernel.bc")])
            { RedirectStandardError = true, RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"clang rejected the OpenCL C of {name}:\n{err}\n--- source ---\n{compiled.Source}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>A generic OpenCL 2.0 device: fp16 and fp64 off (the kernels need neither), generic address space on.</summary>
    private static CLCapabilityContext OpenCLCapabilities() => new(
        float16: false, float64: false, genericAddressSpace: true, int64_Atomics: false, subGroups: false);

    private static string? FindClang() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "clang")).FirstOrDefault(File.Exists);
}
