using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Telemetry;

namespace Forkline.Gateway.Queries;

/// <summary>
/// One per gateway node: receives every host entity's accepted events through the cluster topic
/// (whichever node the entity lives on), turns them back into Contracts events once, and hands them
/// to this node's stream subscribers. A subscriber too slow to keep up loses events, counted in
/// <c>forkline_stream_dropped_total</c>; it never slows the entities down.
/// </summary>
public sealed class LiveEventHub : ReceiveActor
{
    /// <summary>Replies <see cref="Subscribed"/> once events are delivered to <paramref name="Writer"/>.</summary>
    public sealed record Subscribe(Guid Id, LiveEventFilter Filter, ChannelWriter<EnrichedEvent> Writer);

    public sealed record Subscribed(Guid Id);

    public sealed record Unsubscribe(Guid Id);

    private readonly Dictionary<Guid, (LiveEventFilter Filter, ChannelWriter<EnrichedEvent> Writer)> _subscribers = [];
    private readonly GatewayMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public LiveEventHub(GatewayMetrics metrics)
    {
        _metrics = metrics;
        Receive<EventBatch>(OnEvents);
        Receive<Subscribe>(subscribe =>
        {
            _subscribers[subscribe.Id] = (subscribe.Filter, subscribe.Writer);
            Sender.Tell(new Subscribed(subscribe.Id));
        });
        Receive<Unsubscribe>(unsubscribe =>
        {
            if (_subscribers.Remove(unsubscribe.Id, out var subscriber)) subscriber.Writer.TryComplete();
        });
        Receive<SubscribeAck>(_ => { });
    }

    public static Props Props(GatewayMetrics metrics) => Akka.Actor.Props.Create(() => new LiveEventHub(metrics));

    protected override void PreStart() =>
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Akka.Cluster.Tools.PublishSubscribe.Subscribe(HostTreeEntity.LiveEventsTopic, Self));

    protected override void PostStop()
    {
        foreach (var subscriber in _subscribers.Values) subscriber.Writer.TryComplete();
    }

    private void OnEvents(EventBatch batch)
    {
        if (_subscribers.Count == 0) return;
        foreach (var wire in batch.Events)
        {
            EnrichedEvent enriched;
            try
            {
                enriched = WireConverter.ToEnriched(wire);
            }
            catch (WireFormatException e)
            {
                _log.Warning("live event {0} of host {1} cannot be streamed: {2}", wire.EventId, batch.Host, e.Message);
                continue;
            }
            foreach (var (filter, writer) in _subscribers.Values)
                if (filter.Matches(enriched) && !writer.TryWrite(enriched)) _metrics.StreamDropped.Inc();
        }
    }
}
