using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Tests;

public sealed class SyntheticEventSourceTests
{
    private static readonly SyntheticWorkload Small = new(Processes: 300, MaxLiveProcesses: 40, ThreadsPerProcess: 4,
        HookEventsPerProcess: 6, CredentialChangeEvery: 5, Seed: 7);

    [Fact]
    public void The_same_seed_gives_the_same_events_and_another_seed_does_not()
    {
        var first = Generate(Small);
        var second = Generate(Small);
        var other = Generate(Small with { Seed = 8 });

        Assert.Equal(first.Count, second.Count);
        for (var i = 0; i < first.Count; i++) EventAssert.Equal(first[i], second[i]);
        Assert.NotEqual(first.Select(e => e.Ktime), other.Select(e => e.Ktime));
    }

    [Fact]
    public void Every_process_is_forked_execd_and_exits_once_with_tid_equal_to_pid()
    {
        var events = Generate(Small);

        var clones = events.OfType<CloneEvent>().ToList();
        var execs = events.OfType<ExecEvent>().Where(e => !e.Flags.HasFlag(ExecFlags.Procfs)).ToList();
        var exits = events.OfType<ExitEvent>().ToList();
        Assert.Equal(Small.Processes, clones.Count);
        Assert.Equal(Small.Processes, execs.Count);
        Assert.Equal(Small.Processes, exits.Count);
        Assert.All(clones, e => Assert.Equal(e.Pid, e.Tid));
        Assert.All(execs, e => Assert.Equal(e.Pid, e.Tid));
        Assert.All(exits, e => Assert.Equal(e.Pid, e.Tid));
        Assert.Equal(execs.Select(e => e.Key).OrderBy(k => k.Pid), exits.Select(e => e.Key).OrderBy(k => k.Pid));
        Assert.All(execs, e => Assert.Equal(clones.Single(c => c.Pid == e.Pid).Key, e.Replaced));
    }

    [Fact]
    public void Every_event_names_a_process_that_is_alive_and_parents_exist_before_children()
    {
        var live = new HashSet<ProcessKey>();
        var forked = new HashSet<int>();
        foreach (var kernelEvent in Generate(Small))
        {
            switch (kernelEvent)
            {
                case CloneEvent clone:
                    Assert.Contains(clone.Parent, live);
                    Assert.True(forked.Add(clone.Pid), $"pid {clone.Pid} forked twice");
                    break;
                case ExecEvent exec:
                    if (!exec.Parent.IsNone) Assert.Contains(exec.Parent, live);
                    live.Add(exec.Key);
                    break;
                case HookEvent hook:
                    Assert.Contains(hook.Key, live);
                    break;
                case ExitEvent exit:
                    Assert.True(live.Remove(exit.Key), $"exit of {exit.Key}, which is not alive");
                    break;
            }
        }
        Assert.Equal([new ProcessKey(1, 1_000_000_000)], live);
    }

    [Fact]
    public void A_thread_that_drops_its_credentials_shows_them_later_while_its_leader_keeps_its_own()
    {
        var events = Generate(Small);

        var changes = events.OfType<HookEvent>().Where(h => h.Hook.ChangesCredentials).ToList();
        Assert.Equal(Small.Processes / Small.CredentialChangeEvery, changes.Count);
        foreach (var change in changes)
        {
            Assert.True(change.IsThread);
            Assert.Equal(HookPhase.Exit, change.Phase);
            Assert.Equal(1000u, change.Credentials.Uid);
            var laterFromThread = events.OfType<HookEvent>().Where(h => h.Tid == change.Tid && h.Ktime > change.Ktime).ToList();
            Assert.NotEmpty(laterFromThread);
            Assert.All(laterFromThread, h => Assert.Equal(1000u, h.Credentials.Uid));
            Assert.All(events.OfType<HookEvent>().Where(h => h.Pid == change.Pid && !h.IsThread),
                h => Assert.Equal(0u, h.Credentials.Uid));
        }
    }

    [Fact]
    public void Hook_events_come_from_leaders_and_from_other_threads_of_the_same_group()
    {
        var hooks = Generate(Small).OfType<HookEvent>().ToList();

        Assert.Equal(Small.Processes * Small.HookEventsPerProcess, hooks.Count);
        Assert.Contains(hooks, h => h.IsThread);
        Assert.Contains(hooks, h => !h.IsThread);
        Assert.All(hooks, h => Assert.Same(SyntheticEventSource.Hooks[h.Hook.Id], h.Hook));
    }

    [Fact]
    public void Going_through_records_and_the_decoder_delivers_the_same_events()
    {
        var direct = Generate(Small);
        var source = new SyntheticEventSource(Small with { ThroughDecoder = true });
        var sink = new CollectingSink();
        source.Generate(sink);

        Assert.Equal(direct.Count, sink.Events.Count);
        for (var i = 0; i < direct.Count; i++) EventAssert.Equal(direct[i], sink.Events[i]);
        Assert.Equal(direct.Count, source.Counters.Decoded);
        Assert.Equal(0, source.Counters.TotalRejected);
    }

    [Fact]
    public async Task Running_as_a_source_stops_quietly_when_cancelled()
    {
        using var cancellation = new CancellationTokenSource();
        var sink = new CollectingSink();
        sink.Received += _ => cancellation.Cancel();

        await new SyntheticEventSource(Small).RunAsync(sink, cancellation.Token);

        Assert.True(sink.Events.Count < Generate(Small).Count);
    }

    [Fact]
    public void A_workload_that_cannot_exist_is_refused_naming_the_setting()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SyntheticEventSource(Small with { ThreadsPerProcess = 0 }));

        Assert.Equal(nameof(SyntheticWorkload.ThreadsPerProcess), error.ParamName);
    }

    private static List<KernelEvent> Generate(SyntheticWorkload workload)
    {
        var sink = new CollectingSink();
        new SyntheticEventSource(workload).Generate(sink);
        return sink.Events;
    }
}
