using Forkline.Collector.Containers;
using Forkline.Collector.Hooks;
using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
    /// Bytes waiting in the ring from which every record wakes the reader, even during its batching
    /// window; below that only a record landing in an emptied ring does. Default: an eighth of the ring.
    /// </summary>
    public uint? WakeupBytes { get; init; }

    /// <summary>
    /// The batching window: woken by the first record of a batch, the reader waits this long before it
    /// drains, so the records of a burst travel on together (one wakeup, one drain, one message to the
    /// process actors). The longest a record waits in the ring, unless the ring fills past
    /// <see cref="WakeupBytes"/> first. Zero drains at once (a wakeup per record at low rates).
    /// </summary>
    public TimeSpan DrainInterval { get; init; } = DefaultDrainInterval;

    /// <summary>
    /// 50 ms: inside the 100 ms an exported line may lag its exec, at most 20 batches a second. Every batch costs a
    /// fixed round of wakeups (this reader, the actors' event loop, the sinks); against 25 ms it took a collector-node
    /// 15-20 % less CPU per process in an exec storm and at a trickle.
    /// </summary>
    public static readonly TimeSpan DefaultDrainInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the per-CPU loss counters are read into the metrics; also the longest an idle reader sleeps.</summary>
    public TimeSpan LossReadInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Emit a procfs exec for every process already running, before any ring record.</summary>
    public bool BootstrapFromProcfs { get; init; } = true;

    /// <summary>
    /// Reconciles the procfs bootstrap with the host's stored live tree (called once, on the reader
    /// thread, before any ring record is read): still-running processes keep their stored identity.
    /// </summary>
    public StoredIdentities? StoredIdentities { get; init; }

    /// <summary>Hook events of this thread group are dropped in BPF (default: this process); 0 keeps all.</summary>
    public int IgnoreHooksOfPid { get; init; } = Environment.ProcessId;

    /// <summary>Where every raw record (bootstrap included) is also recorded; written from the reader thread.</summary>
    public CaptureWriter? Capture { get; init; }

    /// <summary>
    /// Container ids and pod UIDs from the cgroup names of each exec (parsed once per cgroup); false
    /// leaves every process without a container (the cost benchmark measures both).
    /// </summary>
    public bool ContainerIdentity { get; init; } = true;

    /// <summary>This node's Kubernetes pods, attached to the container identity of each exec; null: none.</summary>
    public PodDirectory? Pods { get; init; }

    /// <summary>Where notices go: skipped hooks, bad records (rate-limited), bootstrap problems.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
