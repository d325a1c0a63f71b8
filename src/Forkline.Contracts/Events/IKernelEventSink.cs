namespace Forkline.Contracts.Events;

/// <summary>Where an event source delivers decoded events. Called from the source's own thread.</summary>
public interface IKernelEventSink
{
    void OnEvent(KernelEvent kernelEvent);
}
