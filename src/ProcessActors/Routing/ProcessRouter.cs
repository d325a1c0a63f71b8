using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Collections;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.ProcessActors.Metrics;
using Forkline.ProcessActors.Process;

namespace Forkline.ProcessActors.Routing;

/// <summary>
/// Routes every kernel event to the actor of its thread-group leader's image, creates an actor per clone
/// and exec, links it to its parent, and parks events whose process or parent is not known yet in the
/// out-of-order cache. The only writer of the process index; no locks, no Ask.
/// Times the grace period of every ended image with one timer, not one per process: under an exec storm a
/// timer per exit woke the scheduler thread and the actors' event loop for each of them.
/// Accepts: KernelEventBatch, GraceStarted, GraceDue, ReleaseRequest, Released, Drained, RetryWaitingEvents, Flush,
/// GiveUpWaitingAndFlush, GetStatus, CheckLiveness, LivenessChecked, ConcludeGone.
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

    // Ended images in the order their grace started; one period for all, so the earliest due is always first.
    private readonly Queue<(long DueMs, IActorRef Actor)> _inGrace = new();
    private readonly long _graceMs;
    private readonly long _graceGatherMs;

    // Start of the latest liveness check: every image it found running was alive at or after this moment.
    private DateTime _lastLivenessCheck = DateTime.UtcNow;
    private bool _livenessCheckRunning;

    public ProcessRouter(ProcessActorDependencies dependencies)
    {
        _dependencies = dependencies;
        _processProps = Props.CreateBy(new ProcessActorProducer(dependencies))
            .WithMailbox(CompactMailbox.ConfigPath)
            .WithDispatcher(ProcessPipeline.DispatcherId);
        _cache = new EventCache(dependencies.Settings.EventCacheCapacity);
        _flush = new FlushBarrier(dependencies.Publisher);
        _maxAgeMs = (long)dependencies.Settings.EventCacheMaxAge.TotalMilliseconds;
        _graceMs = (long)dependencies.Settings.ExitGracePeriod.TotalMilliseconds;
        // A grace ends up to a tenth of the period late (at most half a second), so ends close together are told at one wake.
        _graceGatherMs = Math.Min(_graceMs / 10, 500);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    private ProcessActorMetrics Metrics => _dependencies.Metrics;

    protected override void PreStart()
    {
        if (_dependencies.Settings.LivenessProbe is not null)
            Timers.StartPeriodicTimer(nameof(CheckLiveness), CheckLiveness.Instance, _dependencies.Settings.LivenessCheckInterval);
    }

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
            case KernelEventBatch batch:
                foreach (var kernelEvent in batch.Events) Dispatch(kernelEvent, ArrivingNow, giveUpReason: null);
                break;
            case GraceStarted:
                OnGraceStarted(Sender);
                break;
            case GraceDue:
                TellGraceElapsed();
                break;
            case ReleaseRequest request:
                OnReleaseRequest(request);
                break;
            case Drained:
                _flush.OnDone(Sender, _index, _releasing);
                break;
            case Released:
                _releasing.Remove(Sender);
                _releasing.TrimWhenSparse();
                _flush.OnDone(Sender, _index, _releasing);
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
            case CheckLiveness:
                CheckLivenessOffThread();
                break;
            case LivenessChecked check:
                OnLivenessChecked(check);
                break;
            case ConcludeGone conclude:
                OnConcludeGone(conclude);
                break;
            case Status.Failure { Cause: var cause }:
                // Only the liveness check is piped back: it failed as a whole, the next one tries again.
                _livenessCheckRunning = false;
                Context.GetLogger().Warning(cause, "liveness check of the live processes failed; the next one runs in {0}", _dependencies.Settings.LivenessCheckInterval);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>
    /// Applies one event. With a give-up reason an event whose process or parent is still unknown goes on
    /// without it (flagged incomplete, reason counted) instead of waiting.
    /// </summary>
    private Outcome Dispatch(KernelEvent kernelEvent, long since, Tally? giveUpReason) => kernelEvent switch
    {
        HookEvent hook => RouteToProcess(hook, _index.Resolve(hook.Pid, hook.StartKtime), since, giveUpReason),
        ExitEvent exit => RouteToProcess(exit, _index.Resolve(exit.Pid, exit.StartKtime), since, giveUpReason),
        ExecEvent exec => OnExec(exec, since, giveUpReason),
        CloneEvent clone => OnClone(clone, since, giveUpReason),
        _ => throw new ArgumentException($"unknown kernel event type {kernelEvent.GetType().Name}: {kernelEvent}", nameof(kernelEvent)),
    };

    private Outcome RouteToProcess(KernelEvent kernelEvent, ProcessKey key, long since, Tally? giveUpReason)
    {
        if (_index.TryGet(key, out var tracked))
        {
            tracked.Actor.Tell(kernelEvent);
            if (kernelEvent is ExitEvent) _index.ForgetCurrent(key);
            return Outcome.Applied;
        }
        if (giveUpReason is null) return Wait(kernelEvent, key, since);
        giveUpReason.Inc();
        UnknownProcessEvents.Emit(kernelEvent, key, _dependencies, Context);
        return Outcome.GaveUp;
    }

    private Outcome OnClone(CloneEvent clone, long since, Tally? giveUpReason)
    {
        if (IsDuplicateOrSuperseded(clone.Key)) return Outcome.Applied;
        var parentKey = _index.Resolve(clone.Parent.Pid, clone.Parent.StartKtime);
        var parentKnown = _index.TryGet(parentKey, out var parent);
        var outcome = Outcome.Applied;
        if (!parentKnown && !parentKey.IsNone)
        {
            if (giveUpReason is null) return Wait(clone, parentKey, since);
            outcome = GiveUp(giveUpReason);
        }
        StartProcess(clone, cloneOnly: true, parentKey, parentKnown ? parent.Actor : null, replaced: ProcessKey.None,
            incomplete: outcome == Outcome.GaveUp);
        return outcome;
    }

    private Outcome OnExec(ExecEvent exec, long since, Tally? giveUpReason)
    {
        if (IsDuplicateOrSuperseded(exec.Key)) return Outcome.Applied;
        var outcome = Outcome.Applied;
        var replacedKey = _index.Resolve(exec.Pid, exec.Replaced.StartKtime);
        var replacedKnown = _index.TryGet(replacedKey, out var replaced);
        if (!replacedKnown && replacedKey.StartKtime != 0)
        {
            if (giveUpReason is null) return Wait(exec, replacedKey, since);
            outcome = GiveUp(giveUpReason);
        }

        // Exec of an exec'd image (no fork in between): the previous image is the parent, so exec chains
        // are lineage. Exec after a fork: the forking process is the parent and the fork's entry ends.
        var parentKey = replacedKnown && !replaced.CloneOnly ? replacedKey : _index.Resolve(exec.Parent.Pid, exec.Parent.StartKtime);
        var parentKnown = _index.TryGet(parentKey, out var parent);
        if (!parentKnown && !parentKey.IsNone && (exec.Flags & ExecFlags.ParentUnknown) == 0 && outcome != Outcome.GaveUp)
        {
            if (giveUpReason is null) return Wait(exec, parentKey, since);
            outcome = GiveUp(giveUpReason);
        }

        if (replacedKnown) replaced.Actor.Tell(ImageEnded.Replaced);
        // Also incomplete without waiting: the kernel side said the parent is unknown (ExecFlags.ParentUnknown).
        var incomplete = outcome == Outcome.GaveUp || (!parentKnown && !parentKey.IsNone);
        StartProcess(exec, cloneOnly: false, parentKey, parentKnown ? parent.Actor : null, replacedKnown ? replacedKey : ProcessKey.None, incomplete);
        return outcome;
    }

    private static Outcome GiveUp(Tally reason)
    {
        reason.Inc();
        return Outcome.GaveUp;
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

    private void StartProcess(KernelEvent creation, bool cloneOnly, ProcessKey parentKey, IActorRef? parent, ProcessKey replaced, bool incomplete)
    {
        var key = new ProcessKey(creation.Pid, creation.Ktime);
        // The pid's current image neither exited nor was replaced, yet the pid is new again: it died unseen.
        if (_index.TryGetCurrent(key.Pid, out var previous) && previous != replaced && _index.TryGet(previous, out var stale))
            stale.Actor.Tell(ImageEnded.PidReused);

        var actor = Context.ActorOf(_processProps);
        actor.Tell(new StartProcess(creation, parentKey, parent, incomplete));
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

    private Outcome Wait(KernelEvent kernelEvent, ProcessKey missing, long since)
    {
        var waiting = new WaitingEvent(kernelEvent, since == ArrivingNow ? Environment.TickCount64 : since);
        if (_cache.Add(waiting, missing, out var evicted)) Retry(evicted, Metrics.CacheDrops.Capacity);
        Metrics.EventCacheEvents.Set(_cache.Count);
        // Armed only while something waits: an idle router wakes for nothing.
        if (!Timers.IsTimerActive(nameof(RetryWaitingEvents)))
            Timers.StartSingleTimer(nameof(RetryWaitingEvents), RetryWaitingEvents.Instance, _dependencies.Settings.EventCacheRetryInterval);
        return Outcome.Waiting;
    }

    private void ReleaseWaitingFor(ProcessKey key)
    {
        if (_cache.TakeWaitingFor(key) is not { } released) return;
        foreach (var waiting in released) Retry(waiting, giveUpReason: null);
        Metrics.EventCacheEvents.Set(_cache.Count);
    }

    private void RetryWaiting()
    {
        if (_cache.Count == 0) return;
        var now = Environment.TickCount64;
        foreach (var waiting in _cache.TakeAll())
            Retry(waiting, now - waiting.Since >= _maxAgeMs ? Metrics.CacheDrops.Age : null);
        Metrics.EventCacheEvents.Set(_cache.Count);
    }

    private void GiveUpAllWaiting()
    {
        foreach (var waiting in _cache.TakeAll()) Retry(waiting, Metrics.CacheDrops.Shutdown);
        Timers.Cancel(nameof(RetryWaitingEvents));
        Metrics.EventCacheEvents.Set(_cache.Count);
    }

    /// <summary>Dispatches a waiting event again; one that no longer has to wait counts as resolved.</summary>
    private void Retry(WaitingEvent waiting, Tally? giveUpReason)
    {
        if (Dispatch(waiting.Event, waiting.Since, giveUpReason) == Outcome.Applied)
            Metrics.EventCacheResolvedTotal.Inc();
    }

    /// <summary>
    /// Probes every current image (pid + start, a /proc read each) on the thread pool, not on the
    /// actors' event loop; one check at a time.
    /// </summary>
    private void CheckLivenessOffThread()
    {
        if (_livenessCheckRunning) return;
        _livenessCheckRunning = true;
        var images = _index.CurrentImages();
        var probe = _dependencies.Settings.LivenessProbe!;
        var startedAt = DateTime.UtcNow;
        Task.Run(() =>
        {
            var gone = new List<ProcessKey>();
            foreach (var image in images)
                if (!probe(image)) gone.Add(image);
            return new LivenessChecked(gone, startedAt, DateTime.UtcNow, BootClock.NowKtime());
        }).PipeTo(Self);
    }

    private void OnLivenessChecked(LivenessChecked check)
    {
        _livenessCheckRunning = false;
        var endedAfter = _lastLivenessCheck;
        _lastLivenessCheck = check.StartedAt;
        if (check.Gone.Count > 0)
            Timers.StartSingleTimer(check, new ConcludeGone(check, endedAfter), _dependencies.Settings.LivenessConfirmDelay);
    }

    /// <summary>Images whose exit arrived during the confirm delay, or whose pid a new image took, are left alone.</summary>
    private void OnConcludeGone(ConcludeGone conclude)
    {
        var check = conclude.Check;
        foreach (var key in check.Gone)
        {
            if (!_index.TryGetCurrent(key.Pid, out var current) || current != key || !_index.TryGet(key, out var tracked)) continue;
            tracked.Actor.Tell(new ConcludeExit(ExitConclusion.Lost, conclude.EndedAfter, check.FinishedAt, check.FinishedKtime));
            _index.ForgetCurrent(key);
        }
    }

    private void OnGraceStarted(IActorRef actor)
    {
        if (_graceMs == 0)
        {
            actor.Tell(GraceElapsed.Instance);
            return;
        }
        var now = Environment.TickCount64;
        _inGrace.Enqueue((now + _graceMs, actor));
        if (_inGrace.Count == 1) ArmGraceTimer(now);
    }

    private void TellGraceElapsed()
    {
        var now = Environment.TickCount64;
        while (_inGrace.TryPeek(out var head) && head.DueMs <= now)
        {
            _inGrace.Dequeue();
            head.Actor.Tell(GraceElapsed.Instance);
        }
        // Every held process of a burst ends together: their slots go back once their graces are over.
        _inGrace.TrimWhenSparse();
        if (_inGrace.Count > 0) ArmGraceTimer(now);
    }

    private void ArmGraceTimer(long now) =>
        Timers.StartSingleTimer(nameof(GraceDue), GraceDue.Instance, TimeSpan.FromMilliseconds(Math.Max(0, _inGrace.Peek().DueMs - now) + _graceGatherMs));

    private void OnReleaseRequest(ReleaseRequest request)
    {
        if (!_index.TryRelease(request, out var actor)) return;
        // In order behind every event routed to it; it tells its parent and us, and stops.
        actor.Tell(Release.Instance);
        _releasing.Add(actor);
        Metrics.ProcessesLive.Set(_index.Count);
    }

    private enum Outcome
    {
        /// <summary>Parked in the out-of-order cache.</summary>
        Waiting,

        /// <summary>Routed, or a process started with everything it needs (or discarded as duplicate/superseded).</summary>
        Applied,

        /// <summary>Went on without its process or parent: emitted or started flagged incomplete.</summary>
        GaveUp,
    }
}
