using System.Runtime.InteropServices;
using Forkline.Collector.Bpf;
using Forkline.Collector.Native;

namespace Forkline.Collector.RingBuffer;

/// <summary>
/// Sleeps until the BPF side wakes the ring's consumer, <see cref="Interrupt"/> is called, or a timeout
/// passes. The ring's poll is level-triggered (ready while unconsumed data is waiting); the BPF side
/// wakes it when a record lands in an emptied ring or the ring fills past a threshold, so an idle
/// collector sleeps until the timeout and a busy one wakes once per batch.
/// </summary>
public sealed unsafe class RingBufferWaiter : IDisposable
{
    private int _epollFd;
    private int _interruptFd;

    public RingBufferWaiter(int mapFd)
    {
        _epollFd = LibC.EpollCreate1(LibC.EpollCloexec);
        if (_epollFd < 0)
            throw Failure("epoll_create1", Marshal.GetLastPInvokeError());
        _interruptFd = LibC.Eventfd(0, LibC.EfdCloexec | LibC.EfdNonblock);
        if (_interruptFd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            LibC.Close(_epollFd);
            throw Failure("eventfd", error);
        }
        try
        {
            Register(mapFd, "ring buffer fd");
            Register(_interruptFd, "interrupt eventfd");
        }
        catch
        {
            LibC.Close(_interruptFd);
            LibC.Close(_epollFd);
            throw;
        }
    }

    /// <summary>True when woken by data or an interrupt, false on timeout or a signal.</summary>
    public bool Wait(int timeoutMs)
    {
        LibC.EpollEvent ready;
        var count = LibC.EpollWait(_epollFd, &ready, 1, timeoutMs);
        if (count >= 0) return count > 0;
        var error = Marshal.GetLastPInvokeError();
        return error == Errno.EINTR ? false : throw Failure("epoll_wait on the ring buffer", error);
    }

    /// <summary>Ends the current and every later <see cref="Wait"/> at once (the run is stopping). Any thread.</summary>
    public void Interrupt()
    {
        ulong one = 1;
        // EAGAIN (the counter is already set) leaves it readable, which is all an interrupt needs.
        LibC.Write(_interruptFd, &one, sizeof(ulong));
    }

    public void Dispose()
    {
        if (_interruptFd > 0) LibC.Close(_interruptFd);
        if (_epollFd > 0) LibC.Close(_epollFd);
        _interruptFd = -1;
        _epollFd = -1;
    }

    private void Register(int fd, string what)
    {
        var registration = new LibC.EpollEvent { Events = LibC.EpollIn, Data = (ulong)fd };
        if (LibC.EpollCtl(_epollFd, LibC.EpollCtlAdd, fd, &registration) != 0)
            throw Failure($"epoll_ctl(ADD, {what} {fd})", Marshal.GetLastPInvokeError());
    }

    private static BpfException Failure(string call, int error) =>
        new($"{call} failed: {Errno.Describe(error)} — the collector cannot wait for ring-buffer data; check the process fd limit (ulimit -n)", error);
}
