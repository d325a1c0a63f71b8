using Forkline.Contracts.Events;

namespace Forkline.Contracts.Snapshots;

public enum EnrichedKind : byte
{
    Exec = 1,
    Exit = 2,
    Clone = 3,
    Hook = 4,
}

/// <summary>
/// What the process actors emit: an event with its process, parent and (optionally) ancestors,
/// all immutable snapshots. EventId is stable across retries, so the gateway can de-duplicate.
/// </summary>
public abstract record EnrichedEvent(
    string Node,
    DateTime Time,
    ulong Ktime,
    ProcessSnapshot Process,
    ProcessSnapshot? Parent,
    AncestorChain? Ancestors)
{
    public abstract EnrichedKind Kind { get; }

    /// <summary>
    /// True when the process or its parent was not known when the event had to be emitted. A missing
    /// Parent alone is not incomplete: init and kernel threads have none.
    /// </summary>
    public bool Incomplete => (Process.Flags & ProcessFlags.Incomplete) != 0;
}

public sealed record EnrichedExec(string Node, DateTime Time, ulong Ktime, ProcessSnapshot Process, ProcessSnapshot? Parent, AncestorChain? Ancestors)
    : EnrichedEvent(Node, Time, Ktime, Process, Parent, Ancestors)
{
    public override EnrichedKind Kind => EnrichedKind.Exec;
}

/// <summary>A fork that has not exec'd (yet): a process with the parent's image (flag CloneOnly).</summary>
public sealed record EnrichedClone(string Node, DateTime Time, ulong Ktime, ProcessSnapshot Process, ProcessSnapshot? Parent, AncestorChain? Ancestors)
    : EnrichedEvent(Node, Time, Ktime, Process, Parent, Ancestors)
{
    public override EnrichedKind Kind => EnrichedKind.Clone;
}

/// <summary>Process carries its Exit.</summary>
public sealed record EnrichedExit(string Node, DateTime Time, ulong Ktime, ProcessSnapshot Process, ProcessSnapshot? Parent, AncestorChain? Ancestors)
    : EnrichedEvent(Node, Time, Ktime, Process, Parent, Ancestors)
{
    public override EnrichedKind Kind => EnrichedKind.Exit;
}

/// <summary>A hook event; Thread is set when the calling thread is not the leader (TID != PID).</summary>
public sealed record EnrichedHook(string Node, DateTime Time, ulong Ktime, ProcessSnapshot Process, ProcessSnapshot? Parent, AncestorChain? Ancestors,
    HookEvent Hook, ThreadSnapshot? Thread)
    : EnrichedEvent(Node, Time, Ktime, Process, Parent, Ancestors)
{
    public override EnrichedKind Kind => EnrichedKind.Hook;
}

/// <summary>
/// Where the process actors deliver enriched events (local exporters, the gateway forwarder), one thread at
/// a time. <see cref="OnBatchEnd"/> follows each burst of events (the process actors ran out of work), so a
/// sink may write or send a whole burst at once instead of waking its consumer per event.
/// </summary>
public interface IEnrichedEventSink
{
    void OnEnriched(EnrichedEvent enriched);

    /// <summary>The burst of events since the previous call is complete; a sink that holds events hands them on now.</summary>
    void OnBatchEnd()
    {
    }
}
