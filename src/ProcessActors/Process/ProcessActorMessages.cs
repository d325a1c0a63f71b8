using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.ProcessActors.Process;

// Besides these, a process actor receives the HookEvent and ExitEvent values of its image as they are.

/// <summary>
/// The first message of every process actor: the clone or exec that created its image, the parent the
/// router resolved (Parent null when it is not tracked), and whether it starts without something it
/// should know (its parent, or the image it replaced): then its snapshot is flagged incomplete.
/// </summary>
internal sealed record StartProcess(KernelEvent Creation, ProcessKey ParentKey, IActorRef? Parent, bool Incomplete);

/// <summary>From the router to a parent: a new child names it as parent (and keeps it alive).</summary>
internal sealed record ChildAdded(ProcessKey Child, IActorRef ChildRef);

/// <summary>From a child that is stopping to its parent: it no longer needs the parent.</summary>
internal sealed record ChildReleased(ProcessKey Child);

/// <summary>
/// From a parent to its children: the parent's snapshot in front of its own ancestors. HopsLeft says how
/// many generations below the receiver still show the change in their ancestors.
/// </summary>
internal sealed record LineageChanged(AncestorChain Lineage, int HopsLeft);

/// <summary>
/// From the router: the image is gone but its exit never came (the record was lost). It ended after
/// <paramref name="EndedAfter"/> (or its own start, if later) and before <paramref name="FoundGone"/>.
/// </summary>
internal sealed record ConcludeExit(ExitConclusion Reason, DateTime EndedAfter, DateTime FoundGone, ulong FoundGoneKtime);

/// <summary>From the router: this image will get no exit event of its own.</summary>
internal sealed class ImageEnded
{
    /// <summary>An exec replaced the image (same pid): the new image is its child or its successor.</summary>
    public static readonly ImageEnded Replaced = new(pidReused: false);

    /// <summary>A new process got this pid, so this one died and its exit was lost.</summary>
    public static readonly ImageEnded PidReused = new(pidReused: true);

    private ImageEnded(bool pidReused) => IsPidReuse = pidReused;

    public bool IsPidReuse { get; }
}

/// <summary>From the router: the grace period after the end has passed. Late after a stop is harmless, so not logged as a dead letter.</summary>
internal sealed class GraceElapsed : IDeadLetterSuppression
{
    public static readonly GraceElapsed Instance = new();
}

/// <summary>From the router, in order after every event it routed here: the router has forgotten this actor; stop.</summary>
internal sealed class Release
{
    public static readonly Release Instance = new();
}

/// <summary>From the router: reply Drained once every event routed before this one has been emitted.</summary>
internal sealed class Drain
{
    public static readonly Drain Instance = new();
}
