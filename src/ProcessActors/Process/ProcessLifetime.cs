using Akka.Actor;
using Forkline.Contracts.Collections;
using Forkline.Contracts.Identity;

namespace Forkline.ProcessActors.Process;

/// <summary>
/// When a process actor may go: after its image ended (exit, exec replaced it, pid reused), the grace
/// period passed, and no child still names it as parent. Children are a set of keys, so a child that
/// reports twice cannot decrement twice and a child that never reports keeps the parent (visibly).
/// </summary>
internal sealed class ProcessLifetime
{
    private Dictionary<ProcessKey, IActorRef>? _children;
    private bool _graceElapsed;
    private bool _releaseRequested;

    public bool Ended { get; private set; }

    /// <summary>How many ChildAdded this actor has seen: the router refuses a release that missed one.</summary>
    public int ChildrenAddedSeen { get; private set; }

    public IEnumerable<IActorRef> Children =>
        _children is null ? [] : _children.Values;

    public void AddChild(ProcessKey child, IActorRef childRef)
    {
        (_children ??= new Dictionary<ProcessKey, IActorRef>())[child] = childRef;
        ChildrenAddedSeen++;
        // A release asked for before this child was known is refused by the router; ask again later.
        _releaseRequested = false;
    }

    public void RemoveChild(ProcessKey child)
    {
        if (_children?.Remove(child) == true) _children.TrimWhenSparse();
    }

    /// <summary>True the first time only: the caller starts the grace timer.</summary>
    public bool End()
    {
        if (Ended) return false;
        Ended = true;
        return true;
    }

    public void MarkGraceElapsed() => _graceElapsed = true;

    /// <summary>True once when the actor should ask the router to release it.</summary>
    public bool TakeReleaseTurn()
    {
        if (!Ended || !_graceElapsed || _releaseRequested || _children is { Count: > 0 }) return false;
        _releaseRequested = true;
        return true;
    }
}
