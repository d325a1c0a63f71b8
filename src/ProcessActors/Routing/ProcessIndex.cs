using System.Runtime.InteropServices;
using Akka.Actor;
using Forkline.Contracts.Collections;
using Forkline.Contracts.Identity;

namespace Forkline.ProcessActors.Routing;

/// <summary>One routed image: its actor, whether it is a fork that has not exec'd, and how many children were announced to it.</summary>
internal struct TrackedProcess(IActorRef actor, bool cloneOnly)
{
    public readonly IActorRef Actor = actor;
    public readonly bool CloneOnly = cloneOnly;
    public int ChildrenAdded;
}

/// <summary>
/// The router's maps: ProcessKey -> actor (identity, so PID reuse never merges two processes) and
/// pid -> current image (for events that name only a pid, and to see a pid being reused).
/// </summary>
internal sealed class ProcessIndex
{
    private readonly Dictionary<ProcessKey, TrackedProcess> _byKey = [];
    private readonly Dictionary<int, ProcessKey> _currentByPid = [];

    public int Count => _byKey.Count;

    public Dictionary<ProcessKey, TrackedProcess>.ValueCollection All => _byKey.Values;

    /// <summary>The image an event names: its start when the kernel knew it, else the pid's current image.</summary>
    public ProcessKey Resolve(int pid, ulong startKtime) =>
        startKtime != 0 || !_currentByPid.TryGetValue(pid, out var current) ? new ProcessKey(pid, startKtime) : current;

    public bool TryGet(ProcessKey key, out TrackedProcess tracked) => _byKey.TryGetValue(key, out tracked);

    public bool TryGetCurrent(int pid, out ProcessKey key) => _currentByPid.TryGetValue(pid, out key);

    /// <summary>A copy of every pid's current image (neither exited nor replaced).</summary>
    public List<ProcessKey> CurrentImages() => [.. _currentByPid.Values];

    public void Add(ProcessKey key, IActorRef actor, bool cloneOnly)
    {
        _byKey.Add(key, new TrackedProcess(actor, cloneOnly));
        _currentByPid[key.Pid] = key;
    }

    public void NoteChildAdded(ProcessKey parent) =>
        CollectionsMarshal.GetValueRefOrNullRef(_byKey, parent).ChildrenAdded++;

    /// <summary>After its exit the pid no longer names this image.</summary>
    public void ForgetCurrent(ProcessKey key)
    {
        if (!_currentByPid.TryGetValue(key.Pid, out var current) || current != key) return;
        _currentByPid.Remove(key.Pid);
        _currentByPid.TrimWhenSparse();
    }

    /// <summary>
    /// Forgets the image unless a child was announced to it after it asked (it would still be needed).
    /// </summary>
    public bool TryRelease(ReleaseRequest request, out IActorRef actor)
    {
        actor = ActorRefs.Nobody;
        if (!_byKey.TryGetValue(request.Key, out var tracked) || tracked.ChildrenAdded != request.ChildrenAddedSeen) return false;
        _byKey.Remove(request.Key);
        // After a burst of live processes ends, its slots go back too.
        _byKey.TrimWhenSparse();
        ForgetCurrent(request.Key);
        actor = tracked.Actor;
        return true;
    }
}
