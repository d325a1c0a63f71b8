using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Hosting;
using Forkline.ProcessActors;
using Forkline.ProcessActors.Metrics;

namespace Forkline.Benchmarks;

/// <summary>
/// Synthetic kernel events through router + process actors into a sink that only counts: no kernel, no
/// formatting. Shared by the BenchmarkDotNet benchmarks and the quick figures.
/// </summary>
public sealed class ProcessActorsWorkload : IAsyncDisposable
{
    public const int ProcessCount = 1_000;

    private static readonly HookDescriptor Openat = new(1, "sys_openat", HookKind.Syscall, ChangesCredentials: false);
    private static readonly Credentials User = new(1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000);
    private static readonly ProcessKey Root = new(1, 1_000);

    private readonly ActorSystem _system;
    // Exported as in a node: the meter's instruments are observed at each scrape, not per event.
    private readonly PrometheusExport _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private readonly CountingSink _sink = new();
    private ulong _ktime = 10_000;
    private int _nextPid = 10_000;

    public ProcessActorsWorkload(TimeSpan exitGracePeriod)
    {
        _system = ActorSystem.Create("bench", ConfigurationFactory.ParseString("akka.loglevel = WARNING"));
        var settings = new ProcessActorSettings { NodeName = "bench", ExitGracePeriod = exitGracePeriod };
        Pipeline = ProcessPipeline.Start(_system, settings, new ProcessActorMetrics(_metrics.Meters), [_sink]);
        Feed([Exec(Root, ProcessKey.None)]);
    }

    public ProcessPipeline Pipeline { get; }

    /// <summary>Starts <paramref name="count"/> processes under the root and waits until their execs are out.</summary>
    public ProcessKey[] StartProcesses(int count)
    {
        var keys = new ProcessKey[count];
        var execs = new KernelEvent[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = NextKey();
            execs[i] = Exec(keys[i], Root);
        }
        Feed(execs);
        return keys;
    }

    /// <summary>Hook events spread over the processes; every other one from a non-leader thread.</summary>
    public KernelEvent[] Hooks(ProcessKey[] processes, int count)
    {
        var hooks = new KernelEvent[count];
        for (var i = 0; i < count; i++)
        {
            var process = processes[i % processes.Length];
            var tid = i % 2 == 0 ? process.Pid : process.Pid + 1;
            hooks[i] = new HookEvent(process.Pid, tid, ++_ktime, process.StartKtime, Openat, HookPhase.Exit, 257, 3,
                User, default, default, default);
        }
        return hooks;
    }

    /// <summary>Exec then exit of <paramref name="count"/> new processes under the root.</summary>
    public KernelEvent[] ExecExitPairs(int count)
    {
        var events = new KernelEvent[count * 2];
        for (var i = 0; i < count; i++)
        {
            var key = NextKey();
            events[2 * i] = Exec(key, Root);
            events[2 * i + 1] = new ExitEvent(key.Pid, key.Pid, ++_ktime, key.StartKtime, 0, key.Pid);
        }
        return events;
    }

    /// <summary>Delivers the events as the collector's reader thread would and waits until the sink has all of them.</summary>
    public void Feed(KernelEvent[] events)
    {
        var target = _sink.Count + events.Length;
        foreach (var kernelEvent in events) Pipeline.OnEvent(kernelEvent);
        Pipeline.OnBatchEnd();
        _sink.WaitFor(target);
    }

    public async ValueTask DisposeAsync()
    {
        await Pipeline.StopAsync(TimeSpan.FromSeconds(60));
        await _system.Terminate();
        _metrics.Dispose();
    }

    private ProcessKey NextKey() => new(_nextPid++, ++_ktime);

    /// <summary>Like the collector decodes them: fresh strings per event.</summary>
    private ExecEvent Exec(ProcessKey key, ProcessKey parent)
    {
        var pid = key.Pid.ToString(CultureInfo.InvariantCulture);
        ImmutableArray<string> arguments = [string.Concat("/usr/bin/", "worker"), "--id", pid];
        return new ExecEvent(key.Pid, key.Pid, key.StartKtime, parent, ProcessKey.None, arguments[0], arguments,
            string.Concat("/var/lib/", "work"), User, default, default, 1000, 77, ExecFlags.None);
    }

    /// <summary>Counts enriched events; written by the publisher's single thread, read by the feeder.</summary>
    private sealed class CountingSink : IEnrichedEventSink
    {
        private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);
        private long _count;

        public long Count => Volatile.Read(ref _count);

        public void OnEnriched(EnrichedEvent enriched) => Volatile.Write(ref _count, _count + 1);

        /// <summary>Sleeps rather than spins: the machine has two cores and the pipeline needs them.</summary>
        public void WaitFor(long target)
        {
            var deadline = DateTime.UtcNow + Patience;
            while (Count < target)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"the sink got {Count} of {target} enriched events in {Patience}");
                Thread.Sleep(1);
            }
        }
    }
}
