using Forkline.Contracts.Events;

namespace Forkline.Output;

/// <summary>Writes raw kernel events to the output it was made for, one line each.</summary>
public interface IRawEventFormat
{
    void Write(KernelEvent kernelEvent);

    void Flush();
}
