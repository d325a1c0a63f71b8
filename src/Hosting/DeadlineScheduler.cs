using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;
using Akka.Event;
using Forkline.Contracts.Collections;

namespace Forkline.Hosting;

/// <summary>
/// Akka's scheduler for a Forkline node (akka.scheduler.implementation): one thread that sleeps until the
/// earliest deadline, runs what is due, and sleeps again. Akka's default (the hashed wheel) wakes every
/// tick-duration (10 ms) whether anything is due or not: 100 timer wakeups and 100 thread-pool hops a
/// second on a node with nothing to do. Wakeups fall on the tick-duration grid, so many timers (an exit
/// grace period per process in an exec storm) share one wakeup, and a task runs at most one tick late, as
/// with the wheel; never early. Recurring tasks keep their phase (next deadline = previous + interval).
/// </summary>
public sealed class DeadlineScheduler : SchedulerBase, IDateTimeOffsetNowTimeProvider, IDisposable
{
    private static readonly long Epoch = Stopwatch.GetTimestamp();

    private readonly PriorityQueue<Registration, long> _due = new();
    private readonly object _gate = new();
    private readonly Thread _thread;
    private readonly TimeSpan _shutdownTimeout;
    private readonly long _resolutionTicks;
    private long _earliest = long.MaxValue;
    private bool _stopping;

    public DeadlineScheduler(Config scheduler, ILoggingAdapter log) : base(scheduler, log)
    {
        _shutdownTimeout = SchedulerConfig.GetTimeSpan("akka.scheduler.shutdown-timeout", TimeSpan.FromSeconds(5));
        _resolutionTicks = Math.Max(1, SchedulerConfig.GetTimeSpan("akka.scheduler.tick-duration", TimeSpan.FromMilliseconds(10)).Ticks);
        _thread = new Thread(Run) { Name = "akka-scheduler", IsBackground = true };
        _thread.Start();
    }

    protected override DateTimeOffset TimeNow => DateTimeOffset.Now;

    public override TimeSpan MonotonicClock => Stopwatch.GetElapsedTime(Epoch);

    public override TimeSpan HighResMonotonicClock => Stopwatch.GetElapsedTime(Epoch);

    protected override void InternalScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(new Registration(new Tell(receiver, message, sender), cancelable, TimeSpan.Zero), delay);

    protected override void InternalScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message,
        IActorRef sender, ICancelable cancelable) =>
        Add(new Registration(new Tell(receiver, message, sender), cancelable, interval), initialDelay);

    protected override void InternalScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) =>
        Add(new Registration(new ActionRunnable(action), cancelable, TimeSpan.Zero), delay);

    protected override void InternalScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) =>
        Add(new Registration(action, cancelable, TimeSpan.Zero), delay);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(new Registration(new ActionRunnable(action), cancelable, interval), initialDelay);

    protected override void InternalScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(new Registration(action, cancelable, interval), initialDelay);

    /// <summary>Stops the thread; tasks not yet due are dropped, as Akka's own scheduler does at shutdown.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }
        if (Thread.CurrentThread != _thread && !_thread.Join(_shutdownTimeout))
            Log.Warning("the scheduler thread did not stop within {0}", _shutdownTimeout);
    }

    private void Add(Registration registration, TimeSpan delay)
    {
        var deadline = HighResMonotonicClock.Ticks + delay.Ticks;
        lock (_gate)
        {
            if (_stopping) throw new SchedulerException("cannot schedule after the scheduler stopped");
            _due.Enqueue(registration, deadline);
            // The thread already wakes at that grid point or before: no need to wake it now.
            if (_earliest != long.MaxValue && OnGrid(deadline) >= OnGrid(_earliest)) return;
            _earliest = deadline;
            Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        var ready = new List<(Registration Task, long Deadline)>();
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopping) return;
                    var now = HighResMonotonicClock.Ticks;
                    while (_due.TryPeek(out var task, out var deadline) && deadline <= now)
                    {
                        _due.Dequeue();
                        ready.Add((task, deadline));
                    }
                    // An exec storm schedules a grace period per process: once they ran, their slots go back.
                    _due.TrimWhenSparse();
                    _earliest = _due.TryPeek(out _, out var next) ? next : long.MaxValue;
                    if (ready.Count > 0) break;
                    if (_earliest == long.MaxValue) Monitor.Wait(_gate);
                    else Monitor.Wait(_gate, WaitFor(OnGrid(_earliest) - now));
                }
            }
            foreach (var (task, deadline) in ready) RunDue(task, deadline);
            // The same rule for the tasks of one wakeup: thousands fall due together when a burst's processes end together.
            if (ready.Capacity > SparseCapacity.Floor && ready.Count <= ready.Capacity / 4) ready.Capacity = Math.Max(ready.Count * 2, SparseCapacity.Floor);
            ready.Clear();
        }
    }

    private void RunDue(Registration registration, long deadline)
    {
        if (registration.Cancelable?.IsCancellationRequested == true) return;
        try
        {
            registration.Action.Run();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Akka's scheduler logs a failed task and goes on; one task must not stop every timer of the node.
            Log.Error(e, "scheduled task {0} failed", registration.Action);
        }
        if (registration.Interval <= TimeSpan.Zero || registration.Cancelable?.IsCancellationRequested == true) return;
        var nextDeadline = Math.Max(deadline + registration.Interval.Ticks, HighResMonotonicClock.Ticks);
        lock (_gate)
        {
            if (_stopping) return;
            _due.Enqueue(registration, nextDeadline);
            _earliest = Math.Min(_earliest, nextDeadline);
        }
    }

    private long OnGrid(long deadline) => (deadline + _resolutionTicks - 1) / _resolutionTicks * _resolutionTicks;

    // Rounded up, so a wait never ends just before its deadline and spins through a zero-length wait.
    private static TimeSpan WaitFor(long ticks) =>
        TimeSpan.FromMilliseconds(Math.Min(int.MaxValue - 1, (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond));

    private sealed record Registration(IRunnable Action, ICancelable? Cancelable, TimeSpan Interval);

    private sealed class Tell(ICanTell receiver, object message, IActorRef sender) : IRunnable
    {
        public void Run() => receiver.Tell(message, sender);

        // IRunnable is also a thread-pool work item; queued there, it does the same.
        public void Execute() => Run();

        public override string ToString() => $"Tell({message.GetType().Name} to {receiver})";
    }
}
