using Forkline.Collector.Decoding;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Procfs;

/// <summary>
/// What the BPF live-leaders map must hold for a process that predates the collector: the kernel
/// cannot know when an image it never saw started, so hooks and exits take the start from here.
/// </summary>
public readonly record struct LiveLeaderSeed(int Pid, ulong StartKtime, ProcessKey Parent)
{
    public ProcessKey Key => new(Pid, StartKtime);

    /// <summary>The map value (struct fl_leader), flagged as seeded from /proc.</summary>
    public FlLeader ToLeader() => new()
    {
        StartKtime = StartKtime,
        Parent = LayoutConversions.ToLayout(Parent),
        Flags = (uint)FlLeaderFlags.Seeded,
    };
}

/// <summary>
/// One running thread-group leader found in /proc: its map seed and its synthetic exec record
/// (bpf/forkline.h layout, flag FL_EXEC_PROCFS), which goes through the same decoder as BPF records.
/// Kernel threads are included: their filename is "[comm]" (as ps shows them) and their arguments are empty.
/// </summary>
public sealed record ProcfsProcess(LiveLeaderSeed Seed, bool IsKernelThread, ReadOnlyMemory<byte> ExecRecord);

/// <summary>
/// The result of one /proc scan. Processes are ordered parents first. Vanished counts processes that
/// exited during the scan (their exit is either already past or comes from BPF); Skipped those that
/// could not be read; Errors every read failure reported (a skipped process or an empty field).
/// </summary>
public sealed record ProcfsScan(IReadOnlyList<ProcfsProcess> Processes, int Vanished, int Skipped, int Errors);

/// <summary>
/// Compares the processes a /proc scan found (each pid with the start /proc gives it: its fork, in
/// 10 ms ticks) with the host's stored live tree, and returns by pid the stored start of each that
/// still runs: the collector keeps that identity (its exec_id), so no second exec is stored.
/// </summary>
public delegate IReadOnlyDictionary<int, ulong> StoredIdentities(IReadOnlyList<ProcessKey> scanned);
