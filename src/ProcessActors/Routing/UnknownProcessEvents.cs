using Akka.Actor;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.ProcessActors.Process;

namespace Forkline.ProcessActors.Routing;

/// <summary>
/// Emits a hook or exit whose process never became known (the cache gave up): with a stand-in snapshot
/// flagged incomplete and no parent, so the event is not lost and its consumers see why it is thin.
/// </summary>
internal static class UnknownProcessEvents
{
    public static void Emit(KernelEvent kernelEvent, ProcessKey key, ProcessActorDependencies dependencies, IActorContext context)
    {
        var snapshots = dependencies.Snapshots;
        switch (kernelEvent)
        {
            case HookEvent hook:
            {
                var process = snapshots.UnknownCalling(key, hook);
                var thread = hook.IsThread ? new ThreadSnapshot(process, hook) : null;
                dependencies.Publisher.Tell(new EnrichedHook(snapshots.Node, snapshots.Clock.ToUtc(hook.Ktime), hook.Ktime,
                    process, Parent: null, Ancestors: null, hook, thread));
                break;
            }
            case ExitEvent exit:
            {
                var time = snapshots.Clock.ToUtc(exit.Ktime);
                var process = snapshots.UnknownExited(key, new ProcessExit(exit.Status, exit.Signal, exit.Ktime, time, exit.LastTid));
                dependencies.TidRule.Check(exit, LifecycleEvent.Exit, process, context);
                dependencies.Publisher.Tell(new EnrichedExit(snapshots.Node, time, exit.Ktime, process, Parent: null, Ancestors: null));
                break;
            }
            default:
                throw new ArgumentException($"only hook and exit events are emitted without a process, not {kernelEvent}", nameof(kernelEvent));
        }
    }
}
