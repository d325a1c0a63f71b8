using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Gateway.Tests;

public sealed class HostProcessTreeTests
{
    private readonly SyntheticHost _host = new("node-a");
    private readonly HostProcessTree _tree = new();

    [Fact]
    public void A_leaf_that_exits_is_retired_and_a_late_duplicate_of_its_exec_or_exit_is_recognised()
    {
        var (events, _, _, sh, sleep) = _host.ShellChain(10);
        var exit = _host.Exit(sleep, sh);
        ApplyAll([.. events, exit]);

        Assert.False(_tree.TryGet(sleep.ExecId, out _));
        Assert.Contains(new RetiredEvent(sleep.ExecId, IsExit: false), _tree.Retired);
        Assert.Contains(new RetiredEvent(sleep.ExecId, IsExit: true), _tree.Retired);
        Assert.True(_tree.IsDuplicate(events[3]));
        Assert.True(_tree.IsDuplicate(exit));

        _tree.Apply(events[3]);
        Assert.False(_tree.TryGet(sleep.ExecId, out _));
    }

    [Fact]
    public void An_exec_stored_after_its_own_exit_is_new_and_the_retired_process_stays_ended()
    {
        var (events, _, _, sh, sleep) = _host.ShellChain(10);
        var sleepExec = events[3];
        Assert.Equal(sleep.ExecId, sleepExec.Process.ExecId);
        var exit = _host.Exit(sleep, sh);
        ApplyAll([.. events[..3], exit]);

        Assert.False(_tree.IsDuplicate(sleepExec), "an exec whose exit was stored first is taken for a duplicate, and never stored");
        _tree.Apply(sleepExec);
        Assert.False(_tree.TryGet(sleep.ExecId, out _));
        Assert.True(_tree.IsDuplicate(sleepExec));
        Assert.True(_tree.IsDuplicate(exit));
    }

    [Fact]
    public void An_exec_stored_after_its_own_exit_leaves_a_parent_with_a_live_child_ended()
    {
        var (events, _, bash, sh, _) = _host.ShellChain(10);
        var shExec = events[2];
        Assert.Equal(sh.ExecId, shExec.Process.ExecId);
        var shExit = _host.Exit(sh, bash);
        ApplyAll([.. events[..2], events[3], shExit]);

        Assert.False(_tree.IsDuplicate(shExec));
        _tree.Apply(shExec);
        Assert.True(_tree.TryGet(sh.ExecId, out var ended));
        Assert.False(ended.Live);
        Assert.Equal(shExit.Process.Exit, ended.Snapshot.Exit);
        Assert.True(_tree.IsDuplicate(shExec));
        Assert.True(_tree.IsDuplicate(shExit));
    }

    [Fact]
    public void An_exited_parent_stays_while_a_live_child_descends_from_it_and_leaves_with_its_last_child()
    {
        var (events, _, bash, sh, sleep) = _host.ShellChain(10);
        ApplyAll([.. events, _host.Exit(sh, bash)]);

        Assert.True(_tree.TryGet(sh.ExecId, out var ended));
        Assert.False(ended.Live);
        Assert.NotNull(ended.Snapshot.Exit);

        _tree.Apply(_host.Exit(sleep, sh));
        Assert.False(_tree.TryGet(sleep.ExecId, out _));
        Assert.False(_tree.TryGet(sh.ExecId, out _));
        Assert.True(_tree.TryGet(bash.ExecId, out var stillLive) && stillLive.Live);
    }

    [Fact]
    public void Exec_releases_the_clone_only_entry_of_the_same_pid()
    {
        var (events, _, bash, _, _) = _host.ShellChain(10);
        var forked = _host.NewProcess(50, bash, "/bin/bash");
        var execed = _host.NewProcess(50, bash, "/usr/bin/id");
        ApplyAll([.. events, _host.Clone(forked, bash), _host.Exec(execed, bash)]);

        Assert.False(_tree.TryGet(forked.ExecId, out _));
        Assert.True(_tree.TryGet(execed.ExecId, out var image) && image.Live);
    }

    [Fact]
    public void Exec_of_an_execed_image_keeps_the_previous_image_as_the_ended_parent()
    {
        var (events, _, bash, _, _) = _host.ShellChain(10);
        var first = _host.NewProcess(60, bash, "/bin/sh", "-c", "exec sleep 1");
        var second = _host.NewProcess(60, first, "/bin/sleep", "1");
        ApplyAll([.. events, _host.Exec(first, bash), _host.Exec(second, first)]);

        Assert.True(_tree.TryGet(first.ExecId, out var previous));
        Assert.False(previous.Live);
        Assert.Equal(second.StartTime, previous.ReplacedAt);
        var lineage = _tree.Lineage(second.ExecId, 0, 10)!;
        Assert.Equal([first.ExecId, bash.ExecId], lineage.Ancestors.Take(2).Select(a => a.Snapshot.ExecId));
    }

    [Fact]
    public void A_late_exec_of_an_image_already_replaced_does_not_take_the_pid_back()
    {
        var (events, _, bash, _, _) = _host.ShellChain(10);
        var older = _host.NewProcess(70, bash, "/bin/old");
        var newer = _host.NewProcess(70, bash, "/bin/new");
        ApplyAll([.. events, _host.Exec(newer, bash), _host.Exec(older, bash)]);

        Assert.True(_tree.TryGet(newer.ExecId, out var current) && current.Live);
        Assert.False(_tree.TryGet(older.ExecId, out _));
    }

    [Theory]
    [InlineData("exec exit clone")]
    [InlineData("exit clone exec")]
    [InlineData("clone exit exec")]
    [InlineData("exit exec clone")]
    public void A_forked_child_that_execed_and_exited_is_not_live_whatever_order_its_clone_exec_and_exit_are_stored_in(string order)
    {
        var (events, _, bash, _, _) = _host.ShellChain(10);
        var forked = _host.NewProcess(50, bash, "/bin/bash");
        var execed = _host.NewProcess(50, bash, "/bin/true");
        var byName = new Dictionary<string, EnrichedEvent>
        {
            ["clone"] = _host.Clone(forked, bash), ["exec"] = _host.Exec(execed, bash), ["exit"] = _host.Exit(execed, bash),
        };
        ApplyAll([.. events, .. order.Split(' ').Select(name => byName[name])]);

        Assert.DoesNotContain(_tree.Processes, p => p.Live && p.Snapshot.Pid == 50);
        Assert.False(_tree.TryGet(forked.ExecId, out _), "the clone-only entry, replaced by its exec, is retired");
        Assert.False(_tree.TryGet(execed.ExecId, out _), "the exited image is retired");
        Assert.All(byName.Values, enriched => Assert.True(_tree.IsDuplicate(enriched), $"{enriched.Kind} is not recognised a second time"));
    }

    [Fact]
    public void Events_in_any_order_build_the_same_tree()
    {
        var (events, _, bash, sh, sleep) = _host.ShellChain(10);
        List<EnrichedEvent> all = [.. events, _host.Exit(sleep, sh), _host.Exec(_host.NewProcess(90, bash, "/bin/ls"), bash)];
        ApplyAll(all);
        var reversed = new HostProcessTree();
        for (var i = all.Count - 1; i >= 0; i--)
        {
            // Each event is new the first time, whatever came before it: a gateway stores each once.
            Assert.False(reversed.IsDuplicate(all[i]), $"{all[i].Kind} of {all[i].Process.Binary}, delivered in reverse order, taken for a duplicate");
            reversed.Apply(all[i]);
        }

        Assert.Equal(Describe(_tree), Describe(reversed));
        Assert.All(all, enriched => Assert.True(reversed.IsDuplicate(enriched), $"{enriched.Kind} of {enriched.Process.Binary} is not recognised a second time"));
    }

    [Fact]
    public void A_tree_remembers_the_ended_images_of_half_as_many_pids_as_retired_events_the_latest_ones()
    {
        var tree = new HostProcessTree(retiredCapacity: 8);
        var ended = new List<ProcessSnapshot>();
        for (var pid = 100; pid < 110; pid++)
        {
            var process = _host.NewProcess(pid, null, "/bin/true");
            tree.Apply(_host.Exec(process, null));
            tree.Apply(_host.Exit(process, null));
            ended.Add(process);
        }

        // Each process retired its start and its exit: the last four processes' events, and their four ended images.
        Assert.Equal(8, tree.Retired.Count());
        Assert.Equal(ended[6..].Select(process => process.ExecId), tree.EndedImages.Select(image => image.Image));
    }

    [Fact]
    public void A_tree_restored_from_its_wire_snapshot_equals_the_tree_that_was_saved()
    {
        var (events, _, bash, sh, _) = _host.ShellChain(10);
        var shortLived = _host.NewProcess(80, bash, "/bin/true");
        ApplyAll([.. events, _host.Exit(sh, bash), _host.Exit(shortLived, bash)]);

        var restored = new HostProcessTree();
        restored.Restore(
            _tree.Processes.Select(p => WireConverter.ToTreeProcess(WireConverter.ToWire(p))).ToList(),
            _tree.Retired.Select(retired => WireConverter.ToRetiredEvent(WireConverter.ToWire(retired))).ToList(),
            _tree.EndedImages.Select(ended => WireConverter.ToEndedImage(WireConverter.ToWire(ended))).ToList());

        Assert.Equal(Describe(_tree), Describe(restored));
        Assert.Equal(_tree.Retired, restored.Retired);
        Assert.Equal([(sh.ExecId, sh.StartTime), (shortLived.ExecId, shortLived.StartTime)],
            restored.EndedImages.Select(ended => (ended.Image, ended.StartTime)));
    }

    [Fact]
    public void Lineage_gives_ancestors_parent_first_descendants_by_depth_and_where_the_tree_ends()
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(10);
        var orphan = _host.NewProcess(99, _host.NewProcess(98, null, "/never/seen"), "/bin/orphan");
        ApplyAll([.. events, _host.Exec(orphan, null)]);

        var lineage = _tree.Lineage(bash.ExecId, descendantDepth: 5, descendantLimit: 10)!;
        Assert.Equal([init.ExecId], lineage.Ancestors.Select(a => a.Snapshot.ExecId));
        Assert.Equal([(sh.ExecId, 1), (sleep.ExecId, 2)], lineage.Descendants.Select(d => (d.Process.Snapshot.ExecId, d.Depth)));
        Assert.Null(lineage.ContinueAt);
        Assert.Single(_tree.Lineage(bash.ExecId, descendantDepth: 1, descendantLimit: 10)!.Descendants);
        // Bounded breadth-first: the first generation is kept, the deeper one cut.
        Assert.Equal([(sh.ExecId, 1)], _tree.Lineage(bash.ExecId, descendantDepth: 5, descendantLimit: 1)!.Descendants.Select(d => (d.Process.Snapshot.ExecId, d.Depth)));

        Assert.Equal(orphan.ParentExecId, _tree.Lineage(orphan.ExecId, 0, 10)!.ContinueAt);
    }

    [Fact]
    public void Reconcile_keeps_what_still_runs_and_names_gone_what_vanished_had_its_pid_reused_or_ran_before_a_reboot()
    {
        var (events, init, bash, sh, sleep) = _host.ShellChain(10);
        ApplyAll(events);
        var tolerance = TimeSpan.FromSeconds(1);
        ScannedProcess ForkedBefore(ProcessSnapshot process) => new(process.Pid, process.StartKtime - 1_000, process.StartTime.AddTicks(-10));

        var same = _tree.Reconcile([ForkedBefore(init), ForkedBefore(bash), ForkedBefore(sh), ForkedBefore(sleep)], tolerance);
        Assert.Equal(4, same.StillRunning.Count);
        Assert.Empty(same.Gone);

        // sh vanished; sleep's pid was forked again after sleep started (reused); bash's fork is late on
        // the wall clock though early on the boot clock (the host rebooted: boot-clock times started over).
        var scanned = new[]
        {
            ForkedBefore(init),
            new ScannedProcess(bash.Pid, 5, bash.StartTime.AddMinutes(3)),
            new ScannedProcess(sleep.Pid, sleep.StartKtime + 1, sleep.StartTime),
        };
        var changed = _tree.Reconcile(scanned, tolerance);
        Assert.Equal([init.ExecId], changed.StillRunning.Select(p => p.Snapshot.ExecId));
        Assert.Equal(new[] { bash.Pid, sh.Pid, sleep.Pid }.Order(), changed.Gone.Select(p => p.Snapshot.Pid).Order());
    }

    private void ApplyAll(IEnumerable<EnrichedEvent> events)
    {
        foreach (var enriched in events)
        {
            Assert.False(_tree.IsDuplicate(enriched), $"{enriched.Kind} of {enriched.Process.Binary} taken for a duplicate");
            _tree.Apply(enriched);
        }
    }

    private static List<string> Describe(HostProcessTree tree) =>
        tree.Processes
            .Select(p => $"{p.Snapshot.ExecId} {p.Snapshot.Binary} live={p.Live} exit={p.Snapshot.Exit} replaced={p.ReplacedAt:O}")
            .Order(StringComparer.Ordinal)
            .ToList();

}
