using System.Globalization;
using Forkline.Collector.Native;

namespace Forkline.Collector.Bpf;

/// <summary>
/// Checks what loading the BPF object needs before libbpf is asked, so a missing precondition is
/// reported as one line with its fix rather than as a verifier or errno riddle.
/// </summary>
public static class CollectorPreflight
{
    public const string KernelBtfPath = "/sys/kernel/btf/vmlinux";

    private const int CapSysAdmin = 21;
    private const int CapPerfmon = 38;
    private const int CapBpf = 39;

    /// <summary>Where the collector looks for its object by default: beside the binary, in bpf/.</summary>
    public static string DefaultObjectPath => Path.Combine(AppContext.BaseDirectory, "bpf", "forkline.bpf.o");

    /// <summary>Throws a <see cref="BpfException"/> naming the first missing precondition and its fix.</summary>
    public static void Check(string objectPath)
    {
        var problem = FindProblem(objectPath);
        if (problem is not null) throw new BpfException(problem);
    }

    /// <summary>The first missing precondition as "cause — fix", or null when all are met.</summary>
    public static string? FindProblem(string objectPath)
    {
        var capabilities = EffectiveCapabilities();
        var hasBpf = Has(capabilities, CapSysAdmin) || (Has(capabilities, CapBpf) && Has(capabilities, CapPerfmon));
        if (!hasBpf)
        {
            var who = LibC.Geteuid() == 0 ? "running as root but" : "not running as root and";
            return $"no BPF privileges: {who} CapEff 0x{capabilities:x16} lacks CAP_BPF (39) + CAP_PERFMON (38) or CAP_SYS_ADMIN (21) — "
                + "run as root (sudo), or grant them: setcap cap_bpf,cap_perfmon+ep <forkline binary>, or in a container --cap-add BPF --cap-add PERFMON";
        }
        if (!File.Exists(KernelBtfPath))
            return $"no kernel BTF: {KernelBtfPath} is missing — boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 2021 are)";
        if (!File.Exists(objectPath))
            return $"BPF object missing: looked for {objectPath} — build it with `dotnet pwsh ./build.ps1 bpf` (then rebuild so it is copied beside the binary), or pass --bpf-object PATH";
        return null;
    }

    /// <summary>CapEff of this process, from /proc/self/status.</summary>
    public static ulong EffectiveCapabilities()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("CapEff:", StringComparison.Ordinal)) continue;
            return ulong.Parse(line.AsSpan("CapEff:".Length).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        throw new BpfException("/proc/self/status has no CapEff line — mount /proc (the collector reads it to check privileges)");
    }

    private static bool Has(ulong capabilities, int capability) => (capabilities & (1UL << capability)) != 0;
}
