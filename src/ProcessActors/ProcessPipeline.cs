using Akka.Actor;
using Akka.Configuration;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.ProcessActors.Dispatch;
using Forkline.ProcessActors.Metrics;
using Forkline.ProcessActors.Process;
using Forkline.ProcessActors.Publishing;
using Forkline.ProcessActors.Routing;

namespace Forkline.ProcessActors;

/// <summary>
/// The process actors of one node, seen from the host: an event source delivers kernel events into
/// <see cref="OnEvent"/> (from its single reader thread) and closes each batch with <see cref="OnBatchEnd"/>;
/// enriched events come out of the sinks given to <see cref="Start"/>. OnEvent only counts the event and
/// holds it; OnBatchEnd tells the router the whole batch in one message: no lock, no wait, one wakeup of
/// the actors' thread per batch.
/// </summary>
public sealed class ProcessPipeline : IKernelEventSink, IAsyncDisposable
{
    /// <summary>
    /// Router, process actors and publisher share one event-loop thread (<see cref="EventLoopExecutor"/>):
    /// every event passes all three, in order, without a thread hop between them.
    /// </summary>
    public const string DispatcherId = "forkline.process-actors.dispatcher";

    /// <summary>Events one message to the router carries at most; a longer batch goes on in parts, so the actors start on it early.</summary>
    public const int MaxEventsPerMessage = 1024;

    /// <summary>
    /// The dispatcher and the process actors' mailbox, which Akka takes from configuration only (it has no
    /// typed API for either): a static fragment, the classes named as Akka loads them.
    /// The throughput is the messages an actor handles before the loop moves on to the next actor's mailbox:
    /// large, because the actors on this loop are one pipeline (fairness between them buys nothing), small
    /// enough to interleave.
    /// </summary>
    private static readonly Config Dispatching = ConfigurationFactory.ParseString("""
        forkline.process-actors.dispatcher {
          type = Dispatcher
          executor = "Forkline.ProcessActors.Dispatch.EventLoopExecutorConfigurator, Forkline.ProcessActors"
          throughput = 256
        }
        forkline.process-actors.compact-mailbox {
          mailbox-type = "Forkline.ProcessActors.Process.CompactMailbox, Forkline.ProcessActors"
        }
        """);

    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(30);
    private static int s_instances;

    private readonly IActorRef _router;
    private readonly IActorRef _publisher;
    private readonly ProcessActorMetrics _metrics;
    private readonly EventKindCounters _kinds;
    private readonly List<KernelEvent> _batch = new(MaxEventsPerMessage);
    private volatile bool _stopped;

    private ProcessPipeline(IActorRef router, IActorRef publisher, ProcessActorMetrics metrics)
    {
        _router = router;
        _publisher = publisher;
        _metrics = metrics;
        _kinds = metrics.Kinds;
    }

    /// <summary>
    /// Starts the router and the publisher in <paramref name="system"/>. Sinks are called one at a time
    /// from the publisher's thread, in order; they need not be thread-safe but should not block for long.
    /// </summary>
    public static ProcessPipeline Start(ActorSystem system, ProcessActorSettings settings, ProcessActorMetrics metrics, IEnumerable<IEnrichedEventSink> sinks)
    {
        settings.Validate();
        system.Settings.InjectTopLevelFallback(Dispatching);
        var instance = Interlocked.Increment(ref s_instances);
        IEnrichedEventSink[] sinkList = [.. sinks];
        var sinkFailures = Array.ConvertAll(sinkList, sink => EnrichedEventPublisher.FailuresOf(metrics, sink));
        var publisher = system.ActorOf(
            Props.Create(() => new EnrichedEventPublisher(sinkList, sinkFailures, metrics, settings.MismatchWarningInterval))
                .WithMailbox(CompactMailbox.ConfigPath)
                .WithDispatcher(DispatcherId),
            $"enriched-event-publisher-{instance}");
        var snapshots = new ProcessSnapshots(settings.NodeName, settings.BootClock, settings.UserNames);
        var dependencies = new ProcessActorDependencies(settings, metrics, snapshots, publisher);
        var router = system.ActorOf(
            Props.Create(() => new ProcessRouter(dependencies)).WithMailbox(CompactMailbox.ConfigPath).WithDispatcher(DispatcherId),
            $"process-router-{instance}");
        return new ProcessPipeline(router, publisher, metrics);
    }

    public void OnEvent(KernelEvent kernelEvent)
    {
        if (_stopped)
            throw new InvalidOperationException($"the process pipeline is stopped; {kernelEvent} arrived after StopAsync: stop the event source first");
        var kind = kernelEvent switch
        {
            HookEvent => _kinds.Hook,
            ExecEvent => _kinds.Exec,
            ExitEvent => _kinds.Exit,
            CloneEvent => _kinds.Clone,
            _ => throw new ArgumentException($"unknown kernel event type {kernelEvent.GetType().Name}: {kernelEvent}", nameof(kernelEvent)),
        };
        kind.Inc();
        _batch.Add(kernelEvent);
        if (_batch.Count == MaxEventsPerMessage) OnBatchEnd();
    }

    public void OnBatchEnd()
    {
        if (_batch.Count == 0) return;
        _router.Tell(new KernelEventBatch([.. _batch]), ActorRefs.NoSender);
        _batch.Clear();
    }

    /// <summary>
    /// The loss accounting of this pipeline so far, with <paramref name="forwardingSink"/>'s failures as
    /// the events lost on the way to the gateway. Read from the node's metrics, most downstream first,
    /// so a reading taken while events flow never shows more out than in.
    /// </summary>
    public PipelineCounts CountsFor(IEnrichedEventSink forwardingSink)
    {
        var sinkFailures = EnrichedEventPublisher.FailuresOf(_metrics, forwardingSink).Value;
        var published = _metrics.Published.Total;
        var cache = _metrics.CacheDrops;
        var gaveUp = cache.Age.Value + cache.Capacity.Value + cache.Shutdown.Value;
        var waiting = _metrics.EventCacheEvents.Value;
        var discarded = _metrics.Discarded;
        var withheld = discarded.ClonesOff.Value;
        var superseded = discarded.Duplicate.Value + discarded.Superseded.Value;
        var received = _kinds.Clone.Value + _kinds.Exec.Value + _kinds.Exit.Value + _kinds.Hook.Value;
        var concluded = _metrics.ExitsConcluded.Of(ProcessExit.ReasonOf(ExitConclusion.Lost)).Value;
        return new PipelineCounts(received, superseded, withheld, gaveUp, waiting, published, sinkFailures, concluded);
    }

    /// <summary>Completes once every event of a batch ended before the call has reached the sinks (or waits in the out-of-order cache).</summary>
    public Task FlushAsync(TimeSpan timeout) => _router.Ask<Flushed>(Flush.Instance, timeout);

    public Task<ProcessPipelineStatus> GetStatusAsync(TimeSpan timeout) =>
        _router.Ask<ProcessPipelineStatus>(GetStatus.Instance, timeout);

    /// <summary>
    /// Ends the source's last batch, emits what still waits in the out-of-order cache (flagged incomplete),
    /// lets every event reach the sinks, then stops the actors. Stop the event source before.
    /// </summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_stopped) return;
        OnBatchEnd();
        _stopped = true;
        await _router.Ask<Flushed>(GiveUpWaitingAndFlush.Instance, timeout);
        await _router.GracefulStop(timeout);
        await _publisher.GracefulStop(timeout);
    }

    public async ValueTask DisposeAsync() => await StopAsync(DisposeTimeout);
}
