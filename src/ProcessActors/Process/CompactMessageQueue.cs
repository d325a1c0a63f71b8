using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;
using Forkline.Contracts.Collections;

namespace Forkline.ProcessActors.Process;

/// <summary>
/// The mailbox of process actors, and of the router and the publisher. Akka's default queue (ConcurrentQueue)
/// starts every actor with a 32-slot segment plus cache-line padding, about 1.2 KB, which is most of an idle
/// actor; a host tracks tens of thousands of mostly idle processes. This queue starts at 4 slots and grows only
/// for actors that get bursts. And a ConcurrentQueue keeps the largest segment a burst made it grow to for good:
/// the router's and the publisher's each kept 16,384 slots (491 KB) once 20,000 processes ended together,
/// where this queue keeps one segment of at most <see cref="CompactQueue{T}.MaxSegmentLength"/> slots.
/// Configured as <c>mailbox-type</c> under <see cref="ConfigPath"/>.
/// </summary>
public sealed class CompactMailbox(Settings settings, Config config)
    : MailboxType(settings, config), IProducesMessageQueue<CompactMessageQueue>
{
    public const string ConfigPath = "forkline.process-actors.compact-mailbox";

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new CompactMessageQueue();
}

/// <summary>
/// A process actor's mailbox queue: a <see cref="CompactQueue{T}"/> of envelopes, starting at 4 slots.
/// </summary>
public sealed class CompactMessageQueue() : CompactQueue<Envelope>(InitialSegmentLength), IMessageQueue, IUnboundedMessageQueueSemantics
{
    private const int InitialSegmentLength = 4;

    public bool HasMessages => !IsEmpty;

    public void Enqueue(IActorRef receiver, Envelope envelope) => Enqueue(envelope);

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }
}
