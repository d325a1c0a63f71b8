using Forkline.Collector.Hooks;
using Forkline.Collector.Sources;

namespace Forkline.Collector.Bpf;

public sealed record BpfCollectorOptions
{
    public const uint DefaultRingSizeBytes = 16 * 1024 * 1024;

    /// <summary>The compiled BPF object; by default bpf/forkline.bpf.o beside the binary.</summary>
    public string ObjectPath { get; init; } = CollectorPreflight.DefaultObjectPath;

    public HookPolicy Hooks { get; init; } = HookPolicy.CredentialsOnly;

    /// <summary>Ring-buffer data size: a power of two, a multiple of the page size.</summary>
    public uint RingSizeBytes { get; init; } = DefaultRingSizeBytes;

    /// <summary>
    /// Bytes that may wait in the ring before the BPF side wakes the reader; below that the reader
    /// finds them at its next timed drain. Default: an eighth of the ring, leaving room for bursts.
    /// </summary>
    public uint? WakeupBytes { get; init; }

    /// <summary>Longest time a record waits in the ring before the reader drains it.</summary>
    public TimeSpan DrainInterval { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How often the per-CPU loss counters are read into the metrics.</summary>
    public TimeSpan LossReadInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Emit a procfs exec for every process already running, before any ring record.</summary>
    public bool BootstrapFromProcfs { get; init; } = true;

    /// <summary>Hook events of this thread group are dropped in BPF (default: this process); 0 keeps all.</summary>
    public int IgnoreHooksOfPid { get; init; } = Environment.ProcessId;

    /// <summary>Where every raw record (bootstrap included) is also recorded; written from the reader thread.</summary>
    public CaptureWriter? Capture { get; init; }

    /// <summary>One-line notices: skipped hooks, bad records (rate-limited), bootstrap problems.</summary>
    public Action<string>? Log { get; init; }
}
