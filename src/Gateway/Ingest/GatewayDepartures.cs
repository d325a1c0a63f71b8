using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;

namespace Forkline.Gateway.Ingest;

/// <summary>
/// When gateways left the cluster. Until the shards of a gateway that left start elsewhere, what a shard
/// region sends them is lost without an answer (to the gone node, or to the home the coordinator still
/// names during the down-removal margin), and only the sender can send it again. At any other time an
/// unanswered message is one the entity is still working on, and sending it again would only add load.
/// </summary>
public sealed class GatewayDepartures(TimeSpan unsettledFor)
{
    private CancellationTokenSource _next = new();
    private long _lastDepartureTimestamp = long.MinValue;

    /// <summary>Cancelled when the next gateway leaves.</summary>
    public CancellationToken Next => Volatile.Read(ref _next).Token;

    /// <summary>A gateway left less than the unsettled time ago: messages to its former shards may still be lost.</summary>
    public bool Unsettled => Volatile.Read(ref _lastDepartureTimestamp) is var last && last != long.MinValue && Stopwatch.GetElapsedTime(last) < unsettledFor;

    public void Departed()
    {
        Volatile.Write(ref _lastDepartureTimestamp, Stopwatch.GetTimestamp());
        // Not disposed: asks still hold tokens linked to it, and a source without a timer holds nothing to free.
        Interlocked.Exchange(ref _next, new CancellationTokenSource()).Cancel();
    }

    /// <summary>Departures as the cluster of <paramref name="system"/> reports them (a member removed), for as long as the system runs.</summary>
    /// <param name="unsettledFor">
    /// How long after a removal messages to the gone gateway's shards may still be lost: the shard coordinator names the
    /// gone home until the down-removal margin passed, and a region may not have dropped it yet.
    /// </param>
    public static GatewayDepartures Of(ActorSystem system, TimeSpan unsettledFor)
    {
        var departures = new GatewayDepartures(unsettledFor);
        system.ActorOf(Props.Create(() => new RemovalWatcher(departures)), "forkline-gateway-departures");
        return departures;
    }

    private sealed class RemovalWatcher : ReceiveActor
    {
        public RemovalWatcher(GatewayDepartures departures)
        {
            Receive<ClusterEvent.MemberRemoved>(_ => departures.Departed());
        }

        protected override void PreStart() =>
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberRemoved));

        protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
