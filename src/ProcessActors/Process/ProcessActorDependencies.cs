using Akka.Actor;
using Forkline.ProcessActors.Metrics;

namespace Forkline.ProcessActors.Process;

/// <summary>What every process actor of one pipeline shares. All members are immutable or thread-safe.</summary>
internal sealed class ProcessActorDependencies(
    ProcessActorSettings settings, ProcessActorMetrics metrics, ProcessSnapshots snapshots, IActorRef publisher)
{
    public ProcessActorSettings Settings => settings;
    public ProcessActorMetrics Metrics => metrics;
    public ProcessSnapshots Snapshots => snapshots;
    public IActorRef Publisher => publisher;
    public TidPidRule TidRule { get; } = new(metrics.Mismatches, settings.MismatchWarningInterval);
    public RateLimiter MissingExitWarnings { get; } = new(settings.MismatchWarningInterval);
}

/// <summary>Creates process actors without reflection: one shared Props for all of them.</summary>
internal sealed class ProcessActorProducer(ProcessActorDependencies dependencies) : IIndirectActorProducer
{
    public Type ActorType => typeof(ProcessActor);

    public ActorBase Produce() => new ProcessActor(dependencies);

    public void Release(ActorBase actor)
    {
        // Process actors hold no disposable resources.
    }
}
