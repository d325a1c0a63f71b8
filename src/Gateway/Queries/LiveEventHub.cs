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
/// to this node's stream subscribers: each gets, in its own <see cref="SubscriberQueue"/>, the events
/// that pass its field filters (its reader checks the binary pattern). A subscriber too slow to keep up
/// loses events, counted in <c>forkline_stream_dropped_total</c> and told to it in its stream; it never
/// slows the entities or the other subscribers down.
/// </summary>
/// <remarks>
/// The hub is on the topic only while it has stream subscribers: every node on the topic receives every
/// accepted batch of every host, serialized, sent and parsed again, which costs an idle gateway about
/// as much as the ingest itself. A first subscriber is answered once this node's registry has the
/// hub; entities on other nodes learn of it by gossip, so their events reach a new stream a moment later.
/// </remarks>
public sealed class LiveEventHub : ReceiveActor
{
    /// <summary>Replies <see cref="Subscribed"/> once events are delivered to <paramref name="Queue"/>.</summary>
    public sealed record Subscribe(Guid Id, LiveEventFilter Filter, SubscriberQueue Queue);

    public sealed record Subscribed(Guid Id);

    public sealed record Unsubscribe(Guid Id);

    private readonly Dictionary<Guid, (LiveEventFilter Filter, SubscriberQueue Queue)> _subscribers = [];
    // Subscribers answered once the mediator acknowledges the hub's topic subscription.
    private readonly List<(IActorRef ReplyTo, Guid Id)> _awaitingTopic = [];
    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;
    private readonly GatewayMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Topic subscriptions sent and not yet acknowledged: the hub is on the topic once none is left.
    private int _topicSubscriptionsPending;
    private bool _onTopic;

    public LiveEventHub(GatewayMetrics metrics)
    {
        _metrics = metrics;
        Receive<EventBatch>(OnEvents);
        Receive<Subscribe>(OnSubscribe);
        Receive<Unsubscribe>(OnUnsubscribe);
        Receive<SubscribeAck>(_ => OnTopicAcknowledged());
        Receive<UnsubscribeAck>(_ => { });
    }

    public static Props Props(GatewayMetrics metrics) => Akka.Actor.Props.Create(() => new LiveEventHub(metrics));

    protected override void PostStop()
    {
        foreach (var subscriber in _subscribers.Values) subscriber.Queue.Complete();
    }

    private void OnSubscribe(Subscribe subscribe)
    {
        _subscribers[subscribe.Id] = (subscribe.Filter, subscribe.Queue);
        if (_onTopic && _topicSubscriptionsPending == 0)
        {
            Sender.Tell(new Subscribed(subscribe.Id));
            return;
        }
        _awaitingTopic.Add((Sender, subscribe.Id));
        if (!_onTopic)
        {
            _onTopic = true;
            _topicSubscriptionsPending++;
            _mediator.Tell(new Akka.Cluster.Tools.PublishSubscribe.Subscribe(HostTreeEntity.LiveEventsTopic, Self));
        }
    }

    private void OnUnsubscribe(Unsubscribe unsubscribe)
    {
        if (!_subscribers.Remove(unsubscribe.Id, out var subscriber)) return;
        subscriber.Queue.Complete();
        if (_subscribers.Count > 0 || !_onTopic) return;
        _onTopic = false;
        _mediator.Tell(new Akka.Cluster.Tools.PublishSubscribe.Unsubscribe(HostTreeEntity.LiveEventsTopic, Self));
    }

    private void OnTopicAcknowledged()
    {
        _topicSubscriptionsPending--;
        // An ack of a subscription since withdrawn: a newer one is on its way (the mediator handles them in order).
        if (!_onTopic || _topicSubscriptionsPending > 0) return;
        foreach (var (replyTo, id) in _awaitingTopic)
            if (_subscribers.ContainsKey(id)) replyTo.Tell(new Subscribed(id));
        _awaitingTopic.Clear();
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
            // What a queue's byte bound counts, measured once for all the subscribers that take the event (0: not yet).
            var bytes = 0;
            foreach (var (filter, queue) in _subscribers.Values)
            {
                if (!filter.MatchesFields(enriched)) continue;
                if (bytes == 0) bytes = wire.CalculateSize();
                if (!queue.Offer(enriched, bytes)) _metrics.StreamDropped();
            }
        }
    }
}
