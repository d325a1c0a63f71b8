using Forkline.Collector.Bpf;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Events;

namespace Forkline.Collector.Sources;

/// <summary>
/// Live kernel events: starts a <see cref="BpfCollector"/>, drains it on a dedicated thread until
/// cancelled, then detaches everything. Start failures fault the task with a <see cref="BpfException"/>.
/// </summary>
public sealed class BpfEventSource(BpfCollectorOptions options) : IEventSource
{
    public string Name => "bpf";

    public BpfCollectorOptions Options => options;

    public SourceCounts Counts => Collector?.Counts ?? default;

    /// <summary>The running collector (metrics, skipped hooks); set once started, kept after the run for its figures.</summary>
    public BpfCollector? Collector { get; private set; }

    private Procfs.StoredIdentities? _storedIdentities = options.StoredIdentities;

    /// <summary>Reconciles the procfs bootstrap with the host's stored live tree; call before <see cref="RunAsync"/>.</summary>
    public void ReconcileWith(Procfs.StoredIdentities storedIdentities) => _storedIdentities = storedIdentities;

    public async Task RunAsync(IKernelEventSink sink, CancellationToken cancellationToken)
    {
        using var collector = BpfCollector.Start(options with { StoredIdentities = _storedIdentities });
        Collector = collector;
        await collector.RunOnDedicatedThread(sink, cancellationToken).ConfigureAwait(false);
    }
}
