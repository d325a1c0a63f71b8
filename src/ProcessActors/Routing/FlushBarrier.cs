using Akka.Actor;
using Forkline.ProcessActors.Process;
using Forkline.ProcessActors.Publishing;

namespace Forkline.ProcessActors.Routing;

/// <summary>
/// Answers "has every event sent so far reached the sinks?" without stopping the flow: every tracked actor
/// gets Drain behind the events already routed to it, actors being released count once they confirm, then the
/// publisher answers the requester behind everything emitted before. One flush at a time; others queue.
/// </summary>
internal sealed class FlushBarrier(IActorRef publisher)
{
    private readonly HashSet<IActorRef> _awaiting = [];
    private readonly Queue<IActorRef> _queued = new();
    private IActorRef? _requester;

    public void Request(IActorRef requester, ProcessIndex index, IReadOnlySet<IActorRef> releasing)
    {
        if (_requester is not null)
        {
            _queued.Enqueue(requester);
            return;
        }
        _requester = requester;
        foreach (var tracked in index.All)
        {
            _awaiting.Add(tracked.Actor);
            tracked.Actor.Tell(Drain.Instance);
        }
        foreach (var actor in releasing) _awaiting.Add(actor);
        CompleteWhenDone(index, releasing);
    }

    /// <summary>The actor drained, or was released (it has emitted everything it will).</summary>
    public void OnDone(IActorRef actor, ProcessIndex index, IReadOnlySet<IActorRef> releasing)
    {
        if (_requester is not null && _awaiting.Remove(actor)) CompleteWhenDone(index, releasing);
    }

    private void CompleteWhenDone(ProcessIndex index, IReadOnlySet<IActorRef> releasing)
    {
        if (_awaiting.Count > 0 || _requester is null) return;
        publisher.Tell(new PublisherFlush(_requester));
        _requester = null;
        if (_queued.TryDequeue(out var next)) Request(next, index, releasing);
    }
}
