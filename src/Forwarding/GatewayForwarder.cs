using Akka.Actor;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Collections;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Forwarding;

/// <summary>
/// The collector side's sink for enriched events: converts each to its wire form on the calling
/// thread and hands each burst (<see cref="OnBatchEnd"/>) to the <see cref="ForwarderActor"/> in one
/// message; the forwarder batches and delivers them at least once. Called from one thread at a time.
/// </summary>
public sealed class GatewayForwarder : IEnrichedEventSink
{
    private readonly IActorRef _forwarder;
    private readonly RecentProcessInfos _recentProcesses = new();
    private readonly List<WireEvent> _burst = [];

    // To this node's own gateway: its live tree takes each exec's snapshot itself instead of a copy (ProcessInfo.Source).
    private readonly bool _inProcess;

    private GatewayForwarder(IActorRef forwarder, bool inProcess)
    {
        _forwarder = forwarder;
        _inProcess = inProcess;
    }

    /// <param name="name">The forwarder actor's name: unique per actor system (a fleet simulation runs many in one).</param>
    public static GatewayForwarder Start(ActorSystem system, ForwarderDelivery delivery, ForwarderSettings settings, ForwarderMetrics metrics,
        string name = "forkline-forwarder")
    {
        settings.Validate();
        return new GatewayForwarder(system.ActorOf(ForwarderActor.Props(delivery, settings, metrics), name), delivery is ForwarderDelivery.ToHostTrees);
    }

    public void OnEnriched(EnrichedEvent enriched) => _burst.Add(WireConverter.ToWire(enriched, _recentProcesses, _inProcess));

    public void OnBatchEnd()
    {
        if (_burst.Count == 0) return;
        _forwarder.Tell(new ForwarderActor.ForwardEvents([.. _burst]));
        _burst.Clear();
        // A burst of 20,000 exits (held processes killed together) would otherwise keep its 16,384 slots for good.
        _burst.TrimWhenSparse();
    }

    /// <summary>
    /// Sends the loss accounting of this run for <paramref name="host"/> to the host's entity now and
    /// periodically; <paramref name="upstream"/> is called on the forwarder's thread at each report.
    /// </summary>
    public void ReportRun(string host, Func<UpstreamCounts> upstream) =>
        _forwarder.Tell(new ForwarderActor.StartReporting(host, upstream));

    /// <summary>
    /// Sends the run's final report (call it once the source stopped and the events are flushed); true once
    /// the host's entity has it, false on timeout.
    /// </summary>
    public Task<bool> ReportFinalAsync(TimeSpan timeout, CancellationToken ct = default) =>
        AnsweredInTimeAsync<ForwarderActor.FinalReportDelivered>(new ForwarderActor.ReportFinal(), timeout, ct);

    /// <summary>
    /// Asks the host's entity to compare its stored live tree with a /proc scan taken at this collector's
    /// start (before any event of this run is sent): it ends what is gone with a concluded exit and names
    /// the stored identities of what still runs.
    /// </summary>
    public Task<HostReconciled> ReconcileAsync(ReconcileHost request, TimeSpan timeout, CancellationToken ct = default) =>
        _forwarder.Ask<HostReconciled>(request, timeout, ct);

    /// <summary>True once every event handed in so far is acknowledged by a gateway; false on timeout.</summary>
    public Task<bool> FlushAsync(TimeSpan timeout, CancellationToken ct = default) =>
        AnsweredInTimeAsync<ForwarderActor.Drained>(new ForwarderActor.AwaitDrained(), timeout, ct);

    private async Task<bool> AnsweredInTimeAsync<TAnswer>(object request, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await _forwarder.Ask<TAnswer>(request, timeout, ct);
            return true;
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }
}
