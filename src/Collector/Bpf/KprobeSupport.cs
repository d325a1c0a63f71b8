using System.Runtime.InteropServices;
using Forkline.Collector.Native;

namespace Forkline.Collector.Bpf;

/// <summary>
/// Whether this kernel can attach kprobes. libbpf attaches them through the perf "kprobe" PMU, or
/// through tracefs kprobe_events on kernels without it; a kernel built without CONFIG_KPROBES has
/// neither. Checked only when the policy has a kprobe hook, because it may mount tracefs.
/// </summary>
internal static class KprobeSupport
{
    private const string PerfKprobePmu = "/sys/bus/event_source/devices/kprobe/type";
    private const string TracefsMount = "/sys/kernel/tracing";
    private static readonly string[] KprobeEventsFiles =
        [TracefsMount + "/kprobe_events", "/sys/kernel/debug/tracing/kprobe_events"];

    /// <summary>Null when kprobes are available, else why not.</summary>
    public static string? FindMissing()
    {
        if (File.Exists(PerfKprobePmu)) return null;
        var mountFailure = MountTracefsIfAbsent();
        if (mountFailure is not null) return mountFailure;
        foreach (var file in KprobeEventsFiles)
            if (File.Exists(file)) return null;
        return $"no {PerfKprobePmu} and no kprobe_events in tracefs (kernel built without CONFIG_KPROBES)";
    }

    private static string? MountTracefsIfAbsent()
    {
        // An unmounted tracefs leaves an empty directory; a mounted one always has available_events.
        if (!Directory.Exists(TracefsMount) || File.Exists(TracefsMount + "/available_events")) return null;
        if (LibC.Mount("tracefs", TracefsMount, "tracefs", 0, 0) == 0) return null;
        return $"tracefs is not mounted and `mount -t tracefs tracefs {TracefsMount}` failed: {Errno.Describe(Marshal.GetLastPInvokeError())}";
    }
}
