using Akka.Configuration;
using Akka.Dispatch;
using Forkline.Contracts.Collections;

namespace Forkline.ProcessActors.Dispatch;

/// <summary>
/// One dedicated thread that runs the mailboxes of the process actors (router, one actor per process,
/// publisher) in arrival order. The pipeline is sequential by nature, so one thread loses no
/// parallelism; what it saves is the hop between threads at every actor boundary, and the spinning of
/// Akka's fork-join threads and the .NET thread pool's workers before they sleep (on this kind of VM
/// the spinning and the context switches cost more than the work). The thread never spins: it runs
/// what is queued, then blocks until something is queued again.
/// </summary>
public sealed class EventLoopExecutor : ExecutorService
{
    // Not a ConcurrentQueue: it kept the 16,384-slot segment 20,000 processes ending together made it grow to.
    private readonly CompactQueue<IRunnable> _queue = new(32);
    private readonly object _gate = new();
    private readonly Thread _thread;
    private int _sleeping;
    private volatile bool _shutdown;

    public EventLoopExecutor(string id) : base(id)
    {
        _thread = new Thread(Loop) { Name = id, IsBackground = true };
        _thread.Start();
    }

    public override void Execute(IRunnable run)
    {
        _queue.Enqueue(run);
        // The enqueue is a full fence, so the loop either sees the work before it sleeps or has said it sleeps.
        if (Volatile.Read(ref _sleeping) == 0) return;
        lock (_gate) Monitor.Pulse(_gate);
    }

    public override void Shutdown()
    {
        _shutdown = true;
        lock (_gate) Monitor.Pulse(_gate);
    }

    private void Loop()
    {
        while (true)
        {
            while (_queue.TryDequeue(out var run)) run.Run();
            lock (_gate)
            {
                Interlocked.Exchange(ref _sleeping, 1);
                if (_queue.IsEmpty)
                {
                    if (_shutdown) return;
                    Monitor.Wait(_gate);
                }
                Volatile.Write(ref _sleeping, 0);
            }
        }
    }
}

/// <summary>Makes an <see cref="EventLoopExecutor"/> for a dispatcher whose `executor` names this type.</summary>
public sealed class EventLoopExecutorConfigurator(Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    public override ExecutorService Produce(string id) => new EventLoopExecutor(id);
}
