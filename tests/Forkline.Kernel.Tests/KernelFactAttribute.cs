using Forkline.Collector.Bpf;

namespace Forkline.Kernel.Tests;

/// <summary>
/// A test that loads the real BPF object into the running kernel. Skipped, with the reason, when
/// this process cannot do that (not root, no BTF, object not built); CI has all of it.
/// </summary>
public sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute() => Skip = SkipReason();

    /// <summary>Why this process cannot load the BPF object, or null when it can.</summary>
    internal static string? SkipReason() =>
        CollectorPreflight.FindProblem(CollectorPreflight.DefaultObjectPath) is { } problem ? $"needs BPF: {problem}" : null;
}

/// <summary>A <see cref="KernelFactAttribute"/> with data: skipped for the same reasons.</summary>
public sealed class KernelTheoryAttribute : TheoryAttribute
{
    public KernelTheoryAttribute() => Skip = KernelFactAttribute.SkipReason();
}

/// <summary>Kernel tests attach to the same hooks; one collector at a time keeps them apart.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "kernel";
}
