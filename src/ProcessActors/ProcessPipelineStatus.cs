namespace Forkline.ProcessActors;

/// <summary>
/// What the router holds now. Tracked: images with an actor the router routes to; Releasing: actors told
/// to stop that have not stopped yet; Waiting: events in the out-of-order cache.
/// </summary>
public sealed record ProcessPipelineStatus(int TrackedProcesses, int ReleasingProcesses, int WaitingEvents);
