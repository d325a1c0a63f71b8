using Forkline.Collector.Bpf;

namespace Forkline.Kernel.Tests;

/// <summary>
/// A test that loads the real BPF object into the running kernel. Skipped, with the reason, when
/// this process cannot do that (not root, no BTF, object not built); CI has all of it.
/// </summary>
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        var problem = CollectorPreflight.FindProblem(CollectorPreflight.DefaultObjectPath);
        if (problem is not null) Skip = $"needs BPF: {problem}";
    }
}

/// <summary>Kernel tests attach to the same hooks; one collector at a time keeps them apart.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "kernel";
}
