using Akka.Actor;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.ProcessActors.Metrics;
using Forkline.ProcessActors.Process;
using Prometheus;

namespace Forkline.ProcessActors.Routing;

/// <summary>
/// Routes every kernel event to the actor of its thread-group leader's image, creates an actor per clone
/// and exec, links it to its parent, and parks events whose process or parent is not known yet in the
/// out-of-order cache. The only writer of the process index; no locks, no Ask.
/// Accepts: KernelEvent, ReleaseRequest, Drained, Terminated, RetryWaitingEvents, Flush,
/// GiveUpWaitingAndFlush, GetStatus.
/// </summary>
internal sealed class ProcessRouter : UntypedActor, IWithTimers
{
    /// <summary>Since-value of an event arriving now: the clock is read only if it has to wait.</summary>
    private const long ArrivingNow = -1;

    private readonly ProcessActorDependencies _dependencies;
    private readonly Props _processProps;
    private readonly ProcessIndex _index = new();
    private readonly EventCache _cache;
    private readonly HashSet<IActorRef> _releasing = [];
    private readonly FlushBarrier _flush;
    private readonly long _maxAgeMs;

    public ProcessRouter(ProcessActorDependencies dependencies)
    {
        _dependencies = dependencies;
        _processProps = Props.CreateBy(new ProcessActorProducer(dependencies));
        _cache = new EventCache(dependencies.Settings.EventCacheCapacity);
        _flush = new FlushBarrier(dependencies.Publisher);
        _maxAgeMs = (long)dependencies.Settings.EventCacheMaxAge.TotalMilliseconds;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private ForklineMetrics Metrics => _dependencies.Metrics;

    protected override void PreStart() =>
        Timers.StartPeriodicTimer(nameof(RetryWaitingEvents), RetryWaitingEvents.Instance, _dependencies.Settings.EventCacheRetryInterval);

    protected override void PostStop()
    {
        Metrics.ProcessesLive.Set(0);
        Metrics.EventCacheEvents.Set(0);
    }

    // A process actor that throws keeps its state and skips the message: losing the process would be worse.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Resume);

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case HookEvent hook:
                RouteToProcess(hook, _index.Resolve(hook.Pid, hook.StartKtime), ArrivingNow, giveUp: false);
                break;
            case KernelEvent kernelEvent:
                Dispatch(kernelEvent, ArrivingNow, giveUp: false);
                break;
            case ReleaseRequest request:
                OnReleaseRequest(request);
                break;
            case Drained:
                _flush.OnDone(Sender, _index, _releasing);
                break;
            case Terminated terminated:
                _releasing.Remove(terminated.ActorRef);
                _flush.OnDone(terminated.ActorRef, _index, _releasing);
                break;
            case RetryWaitingEvents:
                RetryWaiting();
                break;
            case Flush:
                _flush.Request(Sender, _index, _releasing);
                break;
            case GiveUpWaitingAndFlush:
                GiveUpAllWaiting();
                _flush.Request(Sender, _index, _releasing);
                break;
            case GetStatus:
                Sender.Tell(new ProcessPipelineStatus(_index.Count, _releasing.Count, _cache.Count));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>Applies one event; false when it (still) waits in the cache.</summary>
    private bool Dispatch(KernelEvent kernelEvent, long since, bool giveUp) => kernelEvent switch
    {
        HookEvent hook => RouteToProcess(hook, _index.Resolve(hook.Pid, hook.StartKtime), since, giveUp),
        ExitEvent exit => RouteToProcess(exit, _index.Resolve(exit.Pid, exit.StartKtime), since, giveUp),
        ExecEvent exec => OnExec(exec, since, giveUp),
        CloneEvent clone => OnClone(clone, since, giveUp),
        _ => throw new ArgumentException($"unknown kernel event type {kernelEvent.GetType().Name}: {kernelEvent}", nameof(kernelEvent)),
    };

    private bool RouteToProcess(KernelEvent kernelEvent, ProcessKey key, long since, bool giveUp)
    {
        if (_index.TryGet(key, out var tracked))
        {
            tracked.Actor.Tell(kernelEvent);
            if (kernelEvent is ExitEvent) _index.ForgetCurrent(key);
            return true;
        }
        if (!giveUp) return Wait(kernelEvent, key, since);
        UnknownProcessEvents.Emit(kernelEvent, key, _dependencies, Context);
        return true;
    }

    private bool OnClone(CloneEvent clone, long since, bool giveUp)
    {
        if (IsDuplicateOrSuperseded(clone.Key)) return true;
        var parentKnown = _index.TryGet(clone.Parent, out var parent);
        if (!parentKnown && !clone.Parent.IsNone && !giveUp) return Wait(clone, clone.Parent, since);
        StartProcess(clone, cloneOnly: true, clone.Parent, parentKnown ? parent.Actor : null, replaced: ProcessKey.None, giveUp);
        return true;
    }

    private bool OnExec(ExecEvent exec, long since, bool giveUp)
    {
        if (IsDuplicateOrSuperseded(exec.Key)) return true;
        var replacedKey = _index.Resolve(exec.Pid, exec.Replaced.StartKtime);
        var replacedKnown = _index.TryGet(replacedKey, out var replaced);
        if (!replacedKnown && replacedKey.StartKtime != 0 && !giveUp) return Wait(exec, replacedKey, since);

        // Exec of an exec'd image (no fork in between): the previous image is the parent, so exec chains
        // are lineage. Exec after a fork: the forking process is the parent and the fork's entry ends.
        var parentKey = replacedKnown && !replaced.CloneOnly ? replacedKey : exec.Parent;
        var parentKnown = _index.TryGet(parentKey, out var parent);
        var parentMayArrive = !parentKey.IsNone && (exec.Flags & ExecFlags.ParentUnknown) == 0;
        if (!parentKnown && parentMayArrive && !giveUp) return Wait(exec, parentKey, since);

        if (replacedKnown) replaced.Actor.Tell(ImageEnded.Replaced);
        StartProcess(exec, cloneOnly: false, parentKey, parentKnown ? parent.Actor : null, replacedKnown ? replacedKey : ProcessKey.None, giveUp);
        return true;
    }

    private bool IsDuplicateOrSuperseded(ProcessKey key)
    {
        if (_index.TryGet(key, out _))
        {
            Metrics.Discarded.Duplicate.Inc();
            return true;
        }
        if (_index.TryGetCurrent(key.Pid, out var current) && current.StartKtime > key.StartKtime)
        {
            Metrics.Discarded.Superseded.Inc();
            return true;
        }
        return false;
    }

    private void StartProcess(KernelEvent creation, bool cloneOnly, ProcessKey parentKey, IActorRef? parent, ProcessKey replaced, bool giveUp)
    {
        var key = new ProcessKey(creation.Pid, creation.Ktime);
        // The pid's current image neither exited nor was replaced, yet the pid is new again: it died unseen.
        if (_index.TryGetCurrent(key.Pid, out var previous) && previous != replaced && _index.TryGet(previous, out var stale))
            stale.Actor.Tell(ImageEnded.PidReused);

        var actor = Context.ActorOf(_processProps);
        actor.Tell(new StartProcess(creation, parentKey, parent, giveUp));
        _index.Add(key, actor, cloneOnly);
        if (parent is not null)
        {
            _index.NoteChildAdded(parentKey);
            parent.Tell(new ChildAdded(key, actor));
        }
        Metrics.ProcessesLive.Set(_index.Count);
        ReleaseWaitingFor(key);
        ReleaseWaitingFor(new ProcessKey(key.Pid, 0));
    }

    private bool Wait(KernelEvent kernelEvent, ProcessKey missing, long since)
    {
        var waiting = new WaitingEvent(kernelEvent, since == ArrivingNow ? Environment.TickCount64 : since);
        if (_cache.Add(waiting, missing, out var evicted)) GiveUp(evicted, Metrics.CacheDrops.Capacity);
        Metrics.EventCacheEvents.Set(_cache.Count);
        return false;
    }

    private void ReleaseWaitingFor(ProcessKey key)
    {
        if (_cache.TakeWaitingFor(key) is not { } released) return;
        foreach (var waiting in released)
            if (Dispatch(waiting.Event, waiting.Since, giveUp: false))
                Metrics.EventCacheResolvedTotal.Inc();
        Metrics.EventCacheEvents.Set(_cache.Count);
    }

    private void RetryWaiting()
    {
        if (_cache.Count == 0) return;
        var now = Environment.TickCount64;
        foreach (var waiting in _cache.TakeAll())
        {
            if (now - waiting.Since >= _maxAgeMs) GiveUp(waiting, Metrics.CacheDrops.Age);
            else if (Dispatch(waiting.Event, waiting.Since, giveUp: false)) Metrics.EventCacheResolvedTotal.Inc();
        }
        Metrics.EventCacheEvents.Set(_cache.Count);
    }

    private void GiveUpAllWaiting()
    {
        foreach (var waiting in _cache.TakeAll()) GiveUp(waiting, Metrics.CacheDrops.Shutdown);
        Metrics.EventCacheEvents.Set(_cache.Count);
    }

    /// <summary>The event stops waiting and goes on with what is known: it is emitted, flagged incomplete.</summary>
    private void GiveUp(WaitingEvent waiting, Counter.Child reason)
    {
        reason.Inc();
        Dispatch(waiting.Event, waiting.Since, giveUp: true);
    }

    private void OnReleaseRequest(ReleaseRequest request)
    {
        if (!_index.TryRelease(request, out var actor)) return;
        // In order behind every event routed to it; it tells its parent and stops.
        actor.Tell(Release.Instance);
        Context.Watch(actor);
        _releasing.Add(actor);
        Metrics.ProcessesLive.Set(_index.Count);
    }
}
