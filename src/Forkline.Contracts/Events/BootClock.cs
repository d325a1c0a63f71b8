using System.Runtime.InteropServices;

namespace Forkline.Contracts.Events;

/// <summary>Converts boot-clock ktimes (CLOCK_BOOTTIME ns, what the BPF side stamps) to UTC.</summary>
public sealed partial class BootClock
{
    private const int ClockBoottime = 7;
    private readonly long _wallMinusBootNs;

    public BootClock(long wallMinusBootNs) => _wallMinusBootNs = wallMinusBootNs;

    /// <summary>Wall clock minus CLOCK_BOOTTIME, in nanoseconds (what a capture file stores).</summary>
    public long WallMinusBootNs => _wallMinusBootNs;

    /// <summary>The offset measured now: wall clock minus CLOCK_BOOTTIME.</summary>
    public static BootClock Measure()
    {
        var boot = NowKtime();
        var wall = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        return new BootClock(wall - (long)boot);
    }

    public DateTime ToUtc(ulong ktime) =>
        DateTime.UnixEpoch.AddTicks(((long)ktime + _wallMinusBootNs) / 100);

    /// <summary>CLOCK_BOOTTIME now, in nanoseconds.</summary>
    public static ulong NowKtime()
    {
        if (ClockGettime(ClockBoottime, out var ts) != 0)
            throw new InvalidOperationException($"clock_gettime(CLOCK_BOOTTIME) failed: errno {Marshal.GetLastPInvokeError()}");
        return (ulong)(ts.Seconds * 1_000_000_000L + ts.Nanoseconds);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGettime(int clockId, out Timespec time);
}
