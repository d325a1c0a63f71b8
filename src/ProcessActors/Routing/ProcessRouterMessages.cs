using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.ProcessActors.Routing;

/// <summary>From the pipeline: one batch of the event source, in the source's order.</summary>
internal sealed record KernelEventBatch(KernelEvent[] Events);

/// <summary>From a process actor whose image ended, grace passed and children are gone: it may stop.</summary>
internal sealed record ReleaseRequest(ProcessKey Key, int ChildrenAddedSeen);

/// <summary>From a process actor whose image ended: its grace period starts now.</summary>
internal sealed class GraceStarted
{
    public static readonly GraceStarted Instance = new();
}

/// <summary>Timer: tell GraceElapsed to the process actors whose grace period has passed.</summary>
internal sealed class GraceDue
{
    public static readonly GraceDue Instance = new();
}

/// <summary>From a process actor that got Release: it has emitted everything and stops now.</summary>
internal sealed class Released
{
    public static readonly Released Instance = new();
}

/// <summary>From a process actor: every event routed to it before Drain has been emitted.</summary>
internal sealed class Drained
{
    public static readonly Drained Instance = new();
}

/// <summary>Timer: retry the events waiting in the out-of-order cache and give up the old ones.</summary>
internal sealed class RetryWaitingEvents
{
    public static readonly RetryWaitingEvents Instance = new();
}

/// <summary>Ask: reply Flushed once every event sent before it has reached the sinks.</summary>
internal sealed class Flush
{
    public static readonly Flush Instance = new();
}

/// <summary>Ask: give up every waiting event (emitted incomplete), then flush.</summary>
internal sealed class GiveUpWaitingAndFlush
{
    public static readonly GiveUpWaitingAndFlush Instance = new();
}

internal sealed class Flushed
{
    public static readonly Flushed Instance = new();
}

/// <summary>Ask: reply ProcessPipelineStatus.</summary>
internal sealed class GetStatus
{
    public static readonly GetStatus Instance = new();
}

/// <summary>Timer: check that every live image still runs.</summary>
internal sealed class CheckLiveness
{
    public static readonly CheckLiveness Instance = new();
}

/// <summary>A liveness check done off the actors' thread: the images it found gone, and when it ran.</summary>
internal sealed record LivenessChecked(List<ProcessKey> Gone, DateTime StartedAt, DateTime FinishedAt, ulong FinishedKtime);

/// <summary>Timer: conclude the exits of images found gone, unless their exit came meanwhile.</summary>
internal sealed record ConcludeGone(LivenessChecked Check, DateTime EndedAfter);
