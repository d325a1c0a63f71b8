using Forkline.Contracts.Collections;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.HostTree;

/// <summary>One process of a host tree as the gateway holds it.</summary>
/// <param name="ReplacedAt">
/// Set when a later exec or clone took over the pid without an exit of this image (exec replaces the
/// image; a clone-only entry is released by its exec; a reused pid means the old process is gone).
/// </param>
/// <param name="Started">
/// Its exec or clone has been applied. False while only its exit has: batches in flight together can
/// be stored out of order (one is resent after a gateway failed), and the exit snapshot carries the
/// whole process, so the exit is applied at once and the start, when it comes, is new all the same.
/// </param>
public sealed record TreeProcessView(ProcessSnapshot Snapshot, DateTime? ReplacedAt, bool Started = true)
{
    public bool Live => Snapshot.Exit is null && ReplacedAt is null;

    public DateTime? EndTime => Snapshot.Exit?.Time ?? ReplacedAt;
}

/// <summary>
/// The start (exec or clone) or the exit of a process pruned from the tree, as applied: remembered so a
/// late duplicate of that event is recognised, and only of that one.
/// </summary>
public readonly record struct RetiredEvent(ExecId Process, bool IsExit);

/// <summary>
/// A process /proc listed at a collector's start: its pid and the start /proc gives it, which is the
/// fork of its thread group (in 10 ms ticks), not the exec of its current image.
/// </summary>
public readonly record struct ScannedProcess(int Pid, ulong ForkKtime, DateTime ForkTime);

/// <summary>The live processes of a tree sorted by a scan: those still running, and those gone.</summary>
public sealed record HostReconciliation(IReadOnlyList<TreeProcessView> StillRunning, IReadOnlyList<TreeProcessView> Gone);

/// <summary>A descendant found by <see cref="HostProcessTree.Lineage"/>: 1 = child, 2 = grandchild, ...</summary>
public sealed record TreeDescendant(TreeProcessView Process, int Depth);

/// <param name="ContinueAt">The parent of the last ancestor when the tree does not hold it, else null.</param>
public sealed record TreeLineage(
    TreeProcessView Process, IReadOnlyList<TreeProcessView> Ancestors, IReadOnlyList<TreeDescendant> Descendants, ExecId? ContinueAt);

/// <summary>
/// The live process tree of one host: live processes plus the ended ones that live processes still
/// descend from. An ended process with no descendants left is retired (removed, and the events applied
/// for it remembered in a bounded set so a late duplicate of its exec or exit is still recognised).
/// Duplicates are told by event (start or exit of an exec_id), never by process: an exec that arrives
/// after its own exit is not one. One image per pid runs at a time: an image that started before a later
/// image of its pid is ended (replaced), whichever of their events comes first.
/// Every rule depends only on the events' contents, never on their arrival order or on the wall
/// clock, so replaying the journal or restoring a snapshot rebuilds exactly the same tree.
/// </summary>
public sealed class HostProcessTree(int retiredCapacity = HostProcessTree.DefaultRetiredCapacity)
{
    /// <summary>
    /// Retired events remembered: a process's start and its exit count one each. A late duplicate comes
    /// from a batch sent again, and a collector sends again only what it has not had acknowledged (at most
    /// Forwarder:MaxInFlightBatches x Forwarder:BatchSize events, 2,048 by default), so this is 8 times that.
    /// Each one costs about 120 bytes of every host's entity, so it is no deeper than it needs to be.
    /// </summary>
    public const int DefaultRetiredCapacity = 16_384;

    private readonly Dictionary<ExecId, TreeProcessView> _processes = [];
    // Keyed by the parent's exec_id whether or not the parent is in the tree, so a child that
    // arrives before its parent is linked all the same.
    private readonly Dictionary<ExecId, HashSet<ExecId>> _children = [];
    private readonly Dictionary<int, ExecId> _liveImageByPid = [];
    private readonly RecentSet<RetiredEvent> _retired = new(retiredCapacity);
    // A start that comes after a later image's exit comes in the same window as a late duplicate. Every process
    // that left the tree retired its start and its exit (a fork that exec'd, its fork too) but noted one ended
    // image, so half as many pids span that window: 16,384 spanned three times it in an exec storm (~1.3 MB a host).
    private readonly LatestEndedImages _endedImages = new(Math.Max(1, retiredCapacity / 2));

    public int Count => _processes.Count;

    public IEnumerable<TreeProcessView> Processes => _processes.Values;

    /// <summary>Events of retired processes, oldest first.</summary>
    public IEnumerable<RetiredEvent> Retired => _retired.InOrder;

    /// <summary>The latest ended image of recently ended pids, oldest noted first.</summary>
    public IEnumerable<EndedImage> EndedImages => _endedImages.InOrder;

    public bool TryGet(ExecId execId, out TreeProcessView process) => _processes.TryGetValue(execId, out process!);

    /// <summary>True when applying the event would change nothing: it was seen before.</summary>
    public bool IsDuplicate(EnrichedEvent enriched) => enriched.Kind switch
    {
        EnrichedKind.Exec or EnrichedKind.Clone => StartSeen(enriched.Process.ExecId),
        EnrichedKind.Exit => ExitSeen(enriched.Process.ExecId),
        _ => false,
    };

    /// <summary>Applies an exec, clone or exit; idempotent. Hooks do not change the tree.</summary>
    public void Apply(EnrichedEvent enriched)
    {
        if (IsDuplicate(enriched)) return;
        switch (enriched.Kind)
        {
            case EnrichedKind.Exec or EnrichedKind.Clone:
                AddStarted(enriched.Process);
                break;
            case EnrichedKind.Exit:
                RecordExit(enriched.Process);
                break;
        }
    }

    /// <summary>
    /// The process, its ancestors and its descendants to <paramref name="descendantDepth"/>, at most
    /// <paramref name="descendantLimit"/> of them (breadth-first: the deepest generation is cut).
    /// </summary>
    public TreeLineage? Lineage(ExecId execId, int descendantDepth, int descendantLimit)
    {
        if (!_processes.TryGetValue(execId, out var process)) return null;
        var ancestors = new List<TreeProcessView>();
        ExecId? continueAt = null;
        var parentId = process.Snapshot.ParentExecId;
        // The count bound stops a corrupt parent cycle from looping forever.
        while (!IsNone(parentId) && ancestors.Count < _processes.Count)
        {
            if (!_processes.TryGetValue(parentId, out var parent))
            {
                continueAt = parentId;
                break;
            }
            ancestors.Add(parent);
            parentId = parent.Snapshot.ParentExecId;
        }
        return new TreeLineage(process, ancestors, Descendants(execId, descendantDepth, descendantLimit), continueAt);
    }

    /// <summary>
    /// Sorts the live processes by a /proc scan taken at a collector's start. A live process still runs
    /// when the scan lists its pid with a fork no later than its start (fork precedes every exec of the
    /// thread group; a reused pid was forked after the old image ended). Boot-clock times restart at a
    /// reboot, so the fork must also not be later than the start on the wall clock, with
    /// <paramref name="clockTolerance"/> for the two conversions of boot-clock time to UTC. A pid reused
    /// within the same 10 ms tick as the old image's start cannot be told apart.
    /// </summary>
    public HostReconciliation Reconcile(IReadOnlyCollection<ScannedProcess> scanned, TimeSpan clockTolerance)
    {
        var scannedByPid = new Dictionary<int, ScannedProcess>(scanned.Count);
        foreach (var process in scanned) scannedByPid[process.Pid] = process;
        // One image per pid runs: of two live entries that both match, the later start is the current image.
        var runningByPid = new Dictionary<int, TreeProcessView>();
        var gone = new List<TreeProcessView>();
        foreach (var process in _processes.Values)
        {
            if (!process.Live) continue;
            var snapshot = process.Snapshot;
            var runs = scannedByPid.TryGetValue(snapshot.Pid, out var found)
                && found.ForkKtime <= snapshot.StartKtime
                && found.ForkTime <= snapshot.StartTime + clockTolerance;
            if (!runs)
            {
                gone.Add(process);
            }
            else if (runningByPid.TryGetValue(snapshot.Pid, out var other))
            {
                var later = other.Snapshot.StartKtime >= snapshot.StartKtime ? other : process;
                gone.Add(ReferenceEquals(later, other) ? process : other);
                runningByPid[snapshot.Pid] = later;
            }
            else
            {
                runningByPid[snapshot.Pid] = process;
            }
        }
        return new HostReconciliation([.. runningByPid.Values], gone);
    }

    /// <summary>Fills an empty tree from a snapshot.</summary>
    public void Restore(IEnumerable<TreeProcessView> processes, IEnumerable<RetiredEvent> retiredOldestFirst, IEnumerable<EndedImage> endedImagesOldestFirst)
    {
        if (_processes.Count > 0 || _retired.Count > 0 || _endedImages.Count > 0)
            throw new InvalidOperationException($"a snapshot can only be restored into an empty tree; this one holds {_processes.Count} processes");
        foreach (var retired in retiredOldestFirst) _retired.Add(retired);
        foreach (var ended in endedImagesOldestFirst) _endedImages.Note(ended);
        foreach (var process in processes)
        {
            _processes[process.Snapshot.ExecId] = process;
            LinkToParent(process.Snapshot);
            if (process.Live) _liveImageByPid[process.Snapshot.Pid] = process.Snapshot.ExecId;
        }
    }

    private bool StartSeen(ExecId execId) =>
        _retired.Contains(new RetiredEvent(execId, IsExit: false)) || (_processes.TryGetValue(execId, out var known) && known.Started);

    private bool ExitSeen(ExecId execId) =>
        _retired.Contains(new RetiredEvent(execId, IsExit: true)) || (_processes.TryGetValue(execId, out var known) && known.Snapshot.Exit is not null);

    private void AddStarted(ProcessSnapshot started)
    {
        // The exit came first: the process stays ended as its exit recorded it, now with its start seen too.
        if (_processes.TryGetValue(started.ExecId, out var exitedFirst))
        {
            _processes[started.ExecId] = exitedFirst with { Started = true };
            return;
        }
        if (_retired.Contains(new RetiredEvent(started.ExecId, IsExit: true)))
        {
            _retired.Add(new RetiredEvent(started.ExecId, IsExit: false));
            return;
        }
        // Linked first: the image this one replaces may be its parent (exec chain) and must not be
        // pruned as childless.
        _processes[started.ExecId] = new TreeProcessView(started, ReplacedAt: null);
        LinkToParent(started);
        if (started.Exit is not null)
        {
            PruneFrom(started.ExecId);
            return;
        }
        if (_endedImages.TryGet(started.Pid, out var endedLater) && endedLater.Image.StartKtime > started.StartKtime)
        {
            // A later image of the pid has ended already: this one was replaced before (a clone published after
            // its own exec and exit, a batch resent after a gateway restart).
            _processes[started.ExecId] = new TreeProcessView(started, endedLater.StartTime);
            PruneFrom(started.ExecId);
            return;
        }
        if (_liveImageByPid.TryGetValue(started.Pid, out var currentId) && _processes.TryGetValue(currentId, out var current))
        {
            if (current.Snapshot.StartKtime > started.StartKtime)
            {
                // A late event of an image that a newer one has already replaced.
                _processes[started.ExecId] = new TreeProcessView(started, current.Snapshot.StartTime);
                PruneFrom(started.ExecId);
                return;
            }
            _processes[currentId] = current with { ReplacedAt = started.StartTime };
            PruneFrom(currentId);
        }
        _liveImageByPid[started.Pid] = started.ExecId;
    }

    private void RecordExit(ProcessSnapshot exited)
    {
        var execId = exited.ExecId;
        var replacedAt = _processes.TryGetValue(execId, out var known) ? known.ReplacedAt : null;
        // A replaced image may have been retired before its exit came (a reused pid): its start was seen then.
        var started = known?.Started ?? _retired.Contains(new RetiredEvent(execId, IsExit: false));
        _processes[execId] = new TreeProcessView(exited, replacedAt, started);
        if (known is null) LinkToParent(exited);
        if (_liveImageByPid.TryGetValue(exited.Pid, out var liveId) && _processes.TryGetValue(liveId, out var live)
            && (liveId == execId || live.Snapshot.StartKtime < exited.StartKtime))
        {
            _liveImageByPid.Remove(exited.Pid);
            _liveImageByPid.TrimWhenSparse();
            if (liveId != execId)
            {
                // The live image started before this one, which has ended: this one replaced it (its start comes
                // later, or never).
                _processes[liveId] = live with { ReplacedAt = exited.StartTime };
                PruneFrom(liveId);
            }
        }
        _endedImages.Note(new EndedImage(execId, exited.StartTime));
        PruneFrom(execId);
    }

    /// <summary>Retires the process if it ended and has no descendants left, then its ancestors likewise.</summary>
    private void PruneFrom(ExecId execId)
    {
        while (_processes.TryGetValue(execId, out var process) && !process.Live && !HasChildren(execId))
        {
            _processes.Remove(execId);
            _processes.TrimWhenSparse();
            if (process.Started) _retired.Add(new RetiredEvent(execId, IsExit: false));
            if (process.Snapshot.Exit is not null) _retired.Add(new RetiredEvent(execId, IsExit: true));
            var parentId = process.Snapshot.ParentExecId;
            if (IsNone(parentId)) return;
            if (_children.TryGetValue(parentId, out var siblings))
            {
                siblings.Remove(execId);
                if (siblings.Count == 0)
                {
                    _children.Remove(parentId);
                    _children.TrimWhenSparse();
                }
                else
                {
                    siblings.TrimWhenSparse();
                }
            }
            execId = parentId;
        }
    }

    private bool HasChildren(ExecId execId) => _children.TryGetValue(execId, out var children) && children.Count > 0;

    private void LinkToParent(ProcessSnapshot process)
    {
        if (IsNone(process.ParentExecId)) return;
        if (!_children.TryGetValue(process.ParentExecId, out var children))
            _children[process.ParentExecId] = children = [];
        children.Add(process.ExecId);
    }

    private List<TreeDescendant> Descendants(ExecId root, int maxDepth, int limit)
    {
        var found = new List<TreeDescendant>();
        var level = new List<ExecId> { root };
        for (var depth = 1; depth <= maxDepth && level.Count > 0 && found.Count < limit; depth++)
        {
            var next = new List<ExecId>();
            foreach (var parentId in level)
            {
                if (!_children.TryGetValue(parentId, out var children)) continue;
                foreach (var childId in children)
                {
                    if (found.Count == limit) break;
                    if (!_processes.TryGetValue(childId, out var child)) continue;
                    found.Add(new TreeDescendant(child, depth));
                    next.Add(childId);
                }
            }
            level = next;
        }
        found.Sort(static (a, b) => a.Depth != b.Depth ? a.Depth.CompareTo(b.Depth) : a.Process.Snapshot.StartKtime.CompareTo(b.Process.Snapshot.StartKtime));
        return found;
    }

    private static bool IsNone(ExecId execId) => Cluster.WireConverter.IsNone(execId);
}
