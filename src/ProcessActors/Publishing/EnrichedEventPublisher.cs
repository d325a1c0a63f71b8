using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Snapshots;
using Forkline.ProcessActors.Metrics;
using Forkline.ProcessActors.Process;
using Forkline.ProcessActors.Routing;

namespace Forkline.ProcessActors.Publishing;

/// <summary>From the flush barrier: answer ReplyTo once everything published before this has reached the sinks.</summary>
internal sealed record PublisherFlush(IActorRef ReplyTo);

/// <summary>
/// Hands enriched events to the sinks, one at a time and in arrival order, on the process actors' event
/// loop. Sinks therefore need not be thread-safe; they must not block (they hand slow work to their own
/// threads). A sink that throws loses that event for itself only: counted and logged, the others still get it.
/// The first event of a burst queues an <see cref="EndOfBurst"/> behind itself; when it comes round, every
/// event that arrived meanwhile has been delivered and the sinks are told the burst is complete, so they
/// write or send it at once instead of waking their own consumers per event.
/// Accepts: EnrichedEvent, PublisherFlush.
/// </summary>
internal sealed class EnrichedEventPublisher : UntypedActor
{
    private sealed class EndOfBurst
    {
        public static readonly EndOfBurst Instance = new();
    }

    private readonly IEnrichedEventSink[] _sinks;
    private readonly Tally[] _failures;
    private readonly RateLimiter _failureWarnings;
    private readonly PublishedCounters _published;
    private bool _inBurst;

    /// <param name="failures">Each sink's forkline_sink_failures_total series (<see cref="FailuresOf"/>), added by the
    /// caller before this actor starts so that /metrics shows them from the start.</param>
    public EnrichedEventPublisher(IReadOnlyList<IEnrichedEventSink> sinks, IReadOnlyList<Tally> failures, ProcessActorMetrics metrics, TimeSpan warningInterval)
    {
        _sinks = [.. sinks];
        _failures = [.. failures];
        _published = metrics.Published;
        _failureWarnings = new RateLimiter(warningInterval);
    }

    // Stopping with a burst open (no flush came first): the sinks still get what they hold.
    protected override void PostStop() => EndBurst();

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case EnrichedEvent enriched:
                if (!_inBurst)
                {
                    _inBurst = true;
                    Self.Tell(EndOfBurst.Instance);
                }
                Deliver(enriched);
                break;
            case EndOfBurst:
                EndBurst();
                break;
            case PublisherFlush flush:
                EndBurst();
                flush.ReplyTo.Tell(Flushed.Instance);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <summary>The forkline_sink_failures_total series of one sink.</summary>
    public static Tally FailuresOf(ProcessActorMetrics metrics, IEnrichedEventSink sink) =>
        metrics.SinkFailuresTotal.Of(sink.GetType().Name);

    private void EndBurst()
    {
        if (!_inBurst) return;
        _inBurst = false;
        for (var i = 0; i < _sinks.Length; i++)
        {
            try
            {
                _sinks[i].OnBatchEnd();
            }
            catch (Exception failure)
            {
                SinkFailed(i, failure, "failed to hand on a burst of events; what it held is lost for that sink");
            }
        }
    }

    private void Deliver(EnrichedEvent enriched)
    {
        _published.Of(enriched.Kind).Inc();
        for (var i = 0; i < _sinks.Length; i++)
        {
            try
            {
                _sinks[i].OnEnriched(enriched);
            }
            catch (Exception failure)
            {
                // One sink's bug or full disk must not stop the other sinks or the process actors.
                SinkFailed(i, failure, $"failed on the {enriched.Kind} event of exec_id {enriched.Process.ExecId} (binary {enriched.Process.Binary}); that sink lost this event");
            }
        }
    }

    private void SinkFailed(int sink, Exception failure, string what)
    {
        _failures[sink].Inc();
        if (_failureWarnings.TryAcquire(out var suppressed))
            Context.GetLogger().Error(failure,
                "sink {0} {1} (forkline_sink_failures_total counts failures); {2} more failures suppressed since the last message",
                _sinks[sink].GetType().Name, what, suppressed);
    }
}
