using Akka.Actor;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Telemetry;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// The collector side's sink for enriched events: converts each to its wire form on the calling
/// thread (so the conversion runs in parallel on the process actors' threads) and hands it to the
/// <see cref="ForwarderActor"/>, which batches and delivers it at least once.
/// </summary>
public sealed class GatewayForwarder : IEnrichedEventSink
{
    private readonly IActorRef _forwarder;
    private readonly RecentProcessInfos _recentProcesses = new();

    private GatewayForwarder(IActorRef forwarder) => _forwarder = forwarder;

    /// <param name="hostTrees">The host-tree shard region, or a proxy to it on a collector-only node.</param>
    public static GatewayForwarder Start(ActorSystem system, IActorRef hostTrees, ForwarderSettings settings, GatewayMetrics metrics)
    {
        settings.Validate();
        return new GatewayForwarder(system.ActorOf(ForwarderActor.Props(hostTrees, settings, metrics), "forkline-forwarder"));
    }

    public void OnEnriched(EnrichedEvent enriched) => _forwarder.Tell(WireConverter.ToWire(enriched, _recentProcesses));

    /// <summary>True once every event handed in so far is acknowledged by a gateway; false on timeout.</summary>
    public async Task<bool> FlushAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        try
        {
            await _forwarder.Ask<ForwarderActor.Drained>(new ForwarderActor.AwaitDrained(), timeout, ct);
            return true;
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }
}
