using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.ProcessActors.Routing;

namespace Forkline.ProcessActors.Process;

/// <summary>
/// Owns one process image (a thread-group leader from its clone or exec until it is no longer needed).
/// Only this actor changes its state, and everything it hands out is an immutable snapshot, so writers
/// never see a half-written process and nothing is copied per event.
/// Accepts: StartProcess (first), HookEvent, ExitEvent, ChildAdded, ChildReleased, LineageChanged,
/// ImageEnded, GraceElapsed, Drain, Release. Emits enriched events to the publisher.
/// </summary>
internal sealed class ProcessActor(ProcessActorDependencies dependencies) : UntypedActor
{
    private readonly ProcessLifetime _lifetime = new();
    private ProcessKey _key;
    private IActorRef? _parent;

    // A fork runs its parent's image, so its snapshot waits for the parent's lineage.
    private StartProcess? _cloneAwaitingParent;
    private ProcessSnapshot? _snapshot;

    // Events that arrive before the parent's lineage: the exec/clone must be emitted first, with its parent.
    private List<object>? _beforeLinked;
    private bool _linked;

    // Parent's snapshot first, then its ancestors; shared with the parent, never copied.
    private AncestorChain? _lineage;
    private AncestorChain? _eventAncestors;

    // This process in front of its lineage: what its children get as theirs.
    private AncestorChain? _childLineage;

    private ProcessSnapshot Snapshot => _snapshot ?? throw new InvalidOperationException($"process {_key} has no snapshot before it is linked to its parent");

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case HookEvent hook when _linked:
                OnHook(hook);
                break;
            case ExitEvent exit when _linked:
                OnExit(exit);
                break;
            case ConcludeExit conclude when _linked:
                OnConcludeExit(conclude);
                break;
            case Drain when _linked:
                Context.Parent.Tell(Drained.Instance);
                break;
            case HookEvent or ExitEvent or ConcludeExit or Drain:
                (_beforeLinked ??= []).Add(message);
                break;
            case StartProcess start:
                OnStart(start);
                break;
            case LineageChanged changed:
                OnLineageChanged(changed);
                break;
            case ChildAdded added:
                OnChildAdded(added);
                break;
            case ChildReleased released:
                _lifetime.RemoveChild(released.Child);
                RequestReleaseWhenDone();
                break;
            case ImageEnded ended:
                OnImageEnded(ended);
                break;
            case GraceElapsed:
                _lifetime.MarkGraceElapsed();
                RequestReleaseWhenDone();
                break;
            case Release:
                _parent?.Tell(new ChildReleased(_key));
                Context.Parent.Tell(Released.Instance);
                Context.Stop(Self);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnStart(StartProcess start)
    {
        _key = new ProcessKey(start.Creation.Pid, start.Creation.Ktime);
        _parent = start.Parent;
        switch (start.Creation)
        {
            case ExecEvent exec:
                _snapshot = dependencies.Snapshots.FromExec(exec, start.ParentKey, start.Incomplete);
                CheckTid(exec, LifecycleEvent.Exec);
                break;
            case CloneEvent:
                _cloneAwaitingParent = start;
                break;
            default:
                throw new ArgumentException($"a process starts from a CloneEvent or an ExecEvent, not {start.Creation.GetType().Name} ({start.Creation})", nameof(start));
        }
        if (_parent is null) Link(lineage: null);
    }

    private void OnLineageChanged(LineageChanged changed)
    {
        if (!_linked)
        {
            Link(changed.Lineage);
            return;
        }
        SetLineage(changed.Lineage);
        if (changed.HopsLeft > 0) TellChildrenLineage(changed.HopsLeft - 1);
    }

    private void Link(AncestorChain? lineage)
    {
        SetLineage(lineage);
        if (_snapshot is { } exec && ProcessSnapshots.JoinsInitTree(exec, lineage?.Process)) _snapshot = exec with { InInitTree = true };
        if (_cloneAwaitingParent is { Creation: CloneEvent clone } start)
        {
            _snapshot = dependencies.Snapshots.FromClone(clone, start.ParentKey, lineage?.Process, start.Incomplete);
            _cloneAwaitingParent = null;
            CheckTid(clone, LifecycleEvent.Clone);
        }
        _linked = true;
        _childLineage = new AncestorChain(Snapshot, _lineage);
        PublishCreation();
        TellChildrenLineage(dependencies.Settings.AncestorDepth);
        ReplayBeforeLinked();
        RequestReleaseWhenDone();
    }

    private void SetLineage(AncestorChain? lineage)
    {
        _lineage = lineage;
        _eventAncestors = AncestorView.ForEvents(lineage, dependencies.Settings.AncestorDepth);
        if (_linked) _childLineage = new AncestorChain(_childLineage!.Process, lineage);
    }

    private void ReplayBeforeLinked()
    {
        if (_beforeLinked is not { } waiting) return;
        _beforeLinked = null;
        foreach (var message in waiting) OnReceive(message);
    }

    private void PublishCreation()
    {
        var snapshot = Snapshot;
        var parent = _lineage?.Process;
        if ((snapshot.Flags & ProcessFlags.CloneOnly) == 0)
            Publish(new EnrichedExec(dependencies.Snapshots.Node, snapshot.StartTime, snapshot.StartKtime, snapshot, parent, _eventAncestors));
        else if (dependencies.Settings.EmitClones)
            Publish(new EnrichedClone(dependencies.Snapshots.Node, snapshot.StartTime, snapshot.StartKtime, snapshot, parent, _eventAncestors));
        else
            dependencies.Metrics.Discarded.ClonesOff.Inc();
    }

    private void OnHook(HookEvent hook)
    {
        // setuid/capset family, successful, by the leader: the process's own credentials change. From
        // another thread only that thread changed, and the event already carries the thread's view.
        if (hook.Hook.ChangesCredentials && hook.Phase == HookPhase.Exit && hook.Return == 0 && !hook.IsThread)
            ChangeCredentials(hook);
        var snapshot = Snapshot;
        var thread = hook.IsThread ? new ThreadSnapshot(snapshot, hook) : null;
        Publish(new EnrichedHook(dependencies.Snapshots.Node, dependencies.Snapshots.Clock.ToUtc(hook.Ktime), hook.Ktime,
            snapshot, _lineage?.Process, _eventAncestors, hook, thread));
    }

    private void ChangeCredentials(HookEvent hook)
    {
        var current = Snapshot;
        const ProcessFlags seenNow = ProcessFlags.CredentialsUnknown | ProcessFlags.CapabilitiesUnknown;
        if (current.Credentials == hook.Credentials && current.Capabilities == hook.Capabilities && (current.Flags & seenNow) == 0) return;
        _snapshot = current with
        {
            Credentials = hook.Credentials, Capabilities = hook.Capabilities, Flags = current.Flags & ~seenNow,
            // The name follows the effective uid the lines write beside it.
            UserName = dependencies.Snapshots.UserNameOf(hook.Credentials, current.Namespaces),
        };
        _childLineage = new AncestorChain(_snapshot, _lineage);
        TellChildrenLineage(dependencies.Settings.AncestorDepth);
    }

    private void OnExit(ExitEvent exit)
    {
        var snapshot = Snapshot;
        if (snapshot.Exit is not null)
        {
            dependencies.Metrics.Discarded.Duplicate.Inc();
            return;
        }
        CheckTid(exit, LifecycleEvent.Exit);
        var time = dependencies.Snapshots.Clock.ToUtc(exit.Ktime);
        PublishExit(new ProcessExit(exit.Status, exit.Signal, exit.Ktime, time, exit.LastTid));
    }

    /// <summary>Gone without an exit seen: ended with an exit that says so, and no invented status.</summary>
    private void OnConcludeExit(ConcludeExit conclude) =>
        Conclude(conclude.Reason, conclude.EndedAfter, conclude.FoundGone, conclude.FoundGoneKtime);

    private void Conclude(ExitConclusion reason, DateTime endedAfter, DateTime foundGone, ulong foundGoneKtime)
    {
        var snapshot = Snapshot;
        if (snapshot.Exit is not null || _lifetime.Ended) return;
        dependencies.Metrics.ExitsConcluded.Of(ProcessExit.ReasonOf(reason)).Inc();
        var after = endedAfter > snapshot.StartTime ? endedAfter : snapshot.StartTime;
        PublishExit(new ProcessExit(Status: 0, Signal: 0, foundGoneKtime, foundGone, snapshot.Pid, reason, after));
    }

    private void PublishExit(ProcessExit exit)
    {
        var snapshot = Snapshot;
        // Children keep the snapshot of the parent as it ran (_childLineage is not rebuilt).
        _snapshot = snapshot with { Exit = exit };
        if ((snapshot.Flags & ProcessFlags.CloneOnly) == 0 || dependencies.Settings.EmitClones)
            Publish(new EnrichedExit(dependencies.Snapshots.Node, exit.Time, exit.Ktime, _snapshot, _lineage?.Process, _eventAncestors));
        else
            dependencies.Metrics.Discarded.ClonesOff.Inc();
        End();
    }

    private void OnImageEnded(ImageEnded ended)
    {
        if (ended.IsPidReuse && !_lifetime.Ended)
        {
            dependencies.Metrics.ExitsMissingTotal.Inc();
            if (dependencies.MissingExitWarnings.TryAcquire(out var suppressed))
                Context.GetLogger().Warning("process {0} (exec_id {1}, binary {2}) ended without an exit event: a new process reused pid {3}. " +
                            "Exit records were lost (see forkline_bpf_lost_events_total); {4} more suppressed since the last warning",
                    _key, dependencies.Snapshots.ExecIdOf(_key), _snapshot is null ? "(fork, not linked yet)" : TerminalText.Escape(_snapshot.Binary), _key.Pid, suppressed);
            // Its exit is owed to the history all the same: concluded, between its start and now (after the
            // creation is published, so it waits like an exit event when the parent's lineage has not come yet).
            OnReceive(new ConcludeExit(ExitConclusion.Lost, DateTime.MinValue, DateTime.UtcNow, BootClock.NowKtime()));
            return;
        }
        End();
    }

    private void End()
    {
        // The router times the grace of every ended image together (GraceElapsed comes from it).
        if (_lifetime.End()) Context.Parent.Tell(GraceStarted.Instance);
    }

    private void OnChildAdded(ChildAdded added)
    {
        _lifetime.AddChild(added.Child, added.ChildRef);
        if (_linked) added.ChildRef.Tell(new LineageChanged(_childLineage!, dependencies.Settings.AncestorDepth));
    }

    private void TellChildrenLineage(int hopsLeft)
    {
        LineageChanged? message = null;
        foreach (var child in _lifetime.Children)
            child.Tell(message ??= new LineageChanged(_childLineage!, hopsLeft));
    }

    private void RequestReleaseWhenDone()
    {
        // Not before linked: the events waiting for the parent must be emitted first.
        if (_linked && _lifetime.TakeReleaseTurn())
            Context.Parent.Tell(new ReleaseRequest(_key, _lifetime.ChildrenAddedSeen));
    }

    private void CheckTid(KernelEvent kernelEvent, LifecycleEvent lifecycle) =>
        dependencies.TidRule.Check(kernelEvent, lifecycle, Snapshot, Context);

    private void Publish(EnrichedEvent enriched) => dependencies.Publisher.Tell(enriched);
}
