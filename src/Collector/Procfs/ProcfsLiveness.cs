using Forkline.Contracts.Identity;

namespace Forkline.Collector.Procfs;

/// <summary>
/// The cheap check that a process image still runs: one read of /proc/pid/stat. The image runs while
/// its pid exists, was forked no later than the image started (fork precedes every exec of the thread
/// group; a reused pid was forked after the old image ended) and is not a zombie whose whole group is
/// dead (that one's exit has happened). A pid reused within the 10 ms tick of the image's start looks alive.
/// </summary>
public sealed class ProcfsLiveness(string procRoot = "/proc")
{
    private readonly ulong _clockTicksPerSecond = (ulong)ProcfsNative.ClockTicksPerSecond();

    /// <summary>False only when the process is surely gone; a /proc it cannot read counts as running.</summary>
    public bool StillRuns(ProcessKey image)
    {
        // Gone is ENOENT or ESRCH; any other failure (and a stat it cannot parse) does not prove the process gone.
        var outcome = ProcFiles.TryRead($"{procRoot}/{image.Pid}/stat", out var content, out _);
        if (outcome == ProcFileOutcome.Gone) return false;
        if (outcome != ProcFileOutcome.Read) return true;
        ProcStat stat;
        try
        {
            stat = ProcStat.Parse(content);
        }
        catch (FormatException)
        {
            return true;
        }
        var forkKtime = (ulong)((UInt128)stat.StartTicks * 1_000_000_000UL / _clockTicksPerSecond);
        return forkKtime <= image.StartKtime && !(stat.IsZombie && stat.Threads <= 1);
    }
}
