using System.Globalization;
using System.Runtime.InteropServices;
using Forkline.Contracts.Identity;

namespace Forkline.Kernel.Tests.Pipeline;

/// <summary>
/// The identity the procfs bootstrap must give the test process, worked out here from /proc/self/stat
/// independently of the collector's own procfs reader.
/// </summary>
internal static partial class ThisProcess
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    public static int Pid => Environment.ProcessId;

    /// <summary>/proc/self/stat field 22 (starttime, USER_HZ ticks since boot) in boot-clock nanoseconds.</summary>
    public static ulong StartKtime
    {
        get
        {
            var stat = File.ReadAllText("/proc/self/stat");
            // The command name (field 2) may hold spaces and parentheses; the fields after it start past the last ')'.
            var fieldsAfterName = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var startTicks = ulong.Parse(fieldsAfterName[22 - 3], NumberStyles.None, CultureInfo.InvariantCulture);
            var ticksPerSecond = (ulong)SystemConfiguration(ClockTicksName);
            return (ulong)((UInt128)startTicks * 1_000_000_000UL / ticksPerSecond);
        }
    }

    public static ExecId ExecId(string node) => new(node, StartKtime, Pid);

    [LibraryImport("libc", EntryPoint = "sysconf")]
    private static partial long SystemConfiguration(int name);
}
