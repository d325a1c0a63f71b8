using System.Runtime.InteropServices;
using Forkline.Collector.Bpf;
using Forkline.Collector.Native;

namespace Forkline.Collector.RingBuffer;

/// <summary>
/// Sleeps until the BPF side wakes the ring's consumer or a timeout passes. The ring's poll is
/// level-triggered (ready while unconsumed data is waiting), and the BPF side only wakes it past a
/// byte threshold, so the timeout is what bounds latency when events trickle in.
/// </summary>
public sealed unsafe class RingBufferWaiter : IDisposable
{
    private int _epollFd;

    public RingBufferWaiter(int mapFd)
    {
        _epollFd = LibC.EpollCreate1(LibC.EpollCloexec);
        if (_epollFd < 0)
            throw Failure("epoll_create1", Marshal.GetLastPInvokeError());
        var registration = new LibC.EpollEvent { Events = LibC.EpollIn, Data = (ulong)mapFd };
        if (LibC.EpollCtl(_epollFd, LibC.EpollCtlAdd, mapFd, &registration) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            LibC.Close(_epollFd);
            throw Failure($"epoll_ctl(ADD, ring buffer fd {mapFd})", error);
        }
    }

    /// <summary>True when woken by data, false on timeout or a signal.</summary>
    public bool Wait(int timeoutMs)
    {
        LibC.EpollEvent ready;
        var count = LibC.EpollWait(_epollFd, &ready, 1, timeoutMs);
        if (count >= 0) return count > 0;
        var error = Marshal.GetLastPInvokeError();
        return error == Errno.EINTR ? false : throw Failure("epoll_wait on the ring buffer", error);
    }

    public void Dispose()
    {
        if (_epollFd > 0) LibC.Close(_epollFd);
        _epollFd = -1;
    }

    private static BpfException Failure(string call, int error) =>
        new($"{call} failed: {Errno.Describe(error)} — the collector cannot wait for ring-buffer data; check the process fd limit (ulimit -n)", error);
}
