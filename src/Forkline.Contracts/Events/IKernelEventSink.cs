namespace Forkline.Contracts.Events;

/// <summary>
/// Where an event source delivers decoded events. Called from the source's own thread. A source delivers
/// in batches (one ring drain, one chunk of a capture): <see cref="OnBatchEnd"/> closes each, so a sink
/// may hand a whole batch on at once instead of waking its consumer per event.
/// </summary>
public interface IKernelEventSink
{
    void OnEvent(KernelEvent kernelEvent);

    /// <summary>The events since the previous call form one batch; a sink that holds events hands them on now.</summary>
    void OnBatchEnd()
    {
    }
}
