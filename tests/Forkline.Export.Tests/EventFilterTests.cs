using Forkline.Contracts.Snapshots;
using Forkline.Export;
using static Forkline.Export.Tests.SampleEvents;

namespace Forkline.Export.Tests;

public sealed class EventFilterTests
{
    private static readonly EnrichedEvent[] AllKinds =
        [Exec(), Exit(), Clone(), Hook(SetuidHook), Hook(CommitCredsHook), Hook(SchedSwitchHook)];

    private static string[] Passing(EventFilterOptions options)
    {
        var filter = EventFilter.Create(options);
        return AllKinds.Where(filter.Matches).Select(Describe).ToArray();
    }

    private static string Describe(EnrichedEvent enriched) =>
        enriched is EnrichedHook hook ? hook.Hook.Hook.Name : enriched.Kind.ToString();

    [Fact]
    public void By_default_exec_exit_and_hooks_pass_and_clone_only_processes_do_not()
    {
        Assert.Equal(["Exec", "Exit", "setuid", "commit_creds", "sched:sched_switch"], Passing(new EventFilterOptions()));
    }

    [Fact]
    public void Exit_of_a_fork_that_never_execd_passes_only_with_clones_so_every_exit_has_its_exec()
    {
        var clone = Clone();
        var forkExit = new EnrichedExit(clone.Node, clone.Time, 6_000,
            clone.Process with { Exit = new ProcessExit(0, 0, 6_000, clone.Time, clone.Process.Pid) }, clone.Parent, clone.Ancestors);

        Assert.False(EventFilter.Create(new EventFilterOptions()).Matches(forkExit));
        Assert.False(EventFilter.Create(new EventFilterOptions { EventTypes = ["exit"] }).Matches(forkExit));
        Assert.True(EventFilter.Create(new EventFilterOptions { EventTypes = ["exit", "clone"] }).Matches(forkExit));
        Assert.True(EventFilter.Create(new EventFilterOptions { EventTypes = ["exit"] }).Matches(Exit()));
    }

    [Theory]
    [InlineData("exec", new[] { "Exec" })]
    [InlineData("EXIT", new[] { "Exit" })]
    [InlineData("clone", new[] { "Clone" })]
    [InlineData("hook", new[] { "setuid", "commit_creds", "sched:sched_switch" })]
    [InlineData("syscall", new[] { "setuid" })]
    [InlineData("kprobe", new[] { "commit_creds" })]
    [InlineData("tracepoint", new[] { "sched:sched_switch" })]
    [InlineData("process_tracepoint", new[] { "setuid", "sched:sched_switch" })]
    [InlineData("process_exec", new[] { "Exec" })]
    [InlineData("setuid", new[] { "setuid" })]
    public void Event_types_select_kinds_hook_kinds_or_hook_names(string type, string[] expected)
    {
        Assert.Equal(expected, Passing(new EventFilterOptions { EventTypes = [type] }));
    }

    [Fact]
    public void A_container_filter_passes_processes_of_that_container_by_full_id_or_prefix_and_nothing_outside_containers()
    {
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        var inside = Exec(Sleep with { Container = new Contracts.Identity.ContainerIdentity(id, null) });

        Assert.True(EventFilter.Create(new EventFilterOptions { Containers = [id] }).Matches(inside));
        Assert.True(EventFilter.Create(new EventFilterOptions { Containers = ["other", id[..12]] }).Matches(inside));
        Assert.False(EventFilter.Create(new EventFilterOptions { Containers = ["4f9a2b1c0d4e"] }).Matches(inside));
        Assert.False(EventFilter.Create(new EventFilterOptions { Containers = [id[..12]] }).Matches(Exec()));
    }

    [Fact]
    public void Pod_and_namespace_filters_pass_processes_of_described_pods_only_and_both_must_hold()
    {
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        const string uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
        var pod = new Contracts.Identity.KubernetesPod(uid, "shop", "web-1", [], "web", "Deployment");
        var described = Exec(Sleep with { Container = new Contracts.Identity.ContainerIdentity(id, uid, pod) });
        var undescribed = Exec(Sleep with { Container = new Contracts.Identity.ContainerIdentity(id, uid) });

        Assert.True(EventFilter.Create(new EventFilterOptions { Pods = ["other", "web-1"] }).Matches(described));
        Assert.True(EventFilter.Create(new EventFilterOptions { PodNamespaces = ["shop"] }).Matches(described));
        Assert.True(EventFilter.Create(new EventFilterOptions { Pods = ["web-1"], PodNamespaces = ["shop"] }).Matches(described));
        Assert.False(EventFilter.Create(new EventFilterOptions { Pods = ["web-1"], PodNamespaces = ["default"] }).Matches(described));
        Assert.False(EventFilter.Create(new EventFilterOptions { Pods = ["web"] }).Matches(described));
        Assert.False(EventFilter.Create(new EventFilterOptions { Pods = ["web-1"] }).Matches(undescribed));
        Assert.False(EventFilter.Create(new EventFilterOptions { PodNamespaces = ["shop"] }).Matches(Exec()));
    }

    [Fact]
    public void Several_event_types_are_alternatives()
    {
        Assert.Equal(["Exit", "Clone", "commit_creds"], Passing(new EventFilterOptions { EventTypes = ["exit", "clone", "commit_creds"] }));
    }

    [Fact]
    public void Binary_regex_matches_the_process_binary_and_several_are_alternatives()
    {
        var sleepOrBash = EventFilter.Create(new EventFilterOptions { BinaryRegex = ["sleep$", "^/usr/bin/bash$"] });
        var shell = EventFilter.Create(new EventFilterOptions { BinaryRegex = ["/s?h$"] });

        Assert.True(sleepOrBash.Matches(Exec()));
        Assert.True(sleepOrBash.Matches(Exec(Bash)));
        Assert.False(sleepOrBash.Matches(Exec(Sh)));
        Assert.True(shell.Matches(Exec(Sh)));
        Assert.False(shell.Matches(Exec()));
    }

    [Theory]
    [InlineData("(unclosed")]
    [InlineData(@"(a)\1")]
    public void A_binary_regex_that_cannot_run_is_rejected_naming_the_pattern(string pattern)
    {
        var error = Assert.Throws<ArgumentException>(() => EventFilter.Create(new EventFilterOptions { BinaryRegex = [pattern] }));

        Assert.Contains($"binary regex '{pattern}'", error.Message);
    }

    [Fact]
    public void Pid_set_matches_the_process_pid_also_for_a_threads_hook()
    {
        var filter = EventFilter.Create(new EventFilterOptions { Pids = [300, 999] });

        Assert.True(filter.Matches(Exec()));
        Assert.True(filter.Matches(Hook(SetuidHook, tid: 301)));
        Assert.False(filter.Matches(Exec(Sh)));
    }

    [Fact]
    public void Namespace_matches_the_process_namespaces()
    {
        var inOwnMnt = Sleep with { Namespaces = InitNamespaces with { Mnt = 4026532777 } };
        var filter = EventFilter.Create(new EventFilterOptions { Namespaces = [NamespaceMatch.Parse("mnt:4026532777")] });

        Assert.True(filter.Matches(Exec(inOwnMnt)));
        Assert.False(filter.Matches(Exec()));
    }

    [Fact]
    public void Namespace_of_a_threads_hook_is_the_threads_own()
    {
        var filter = EventFilter.Create(new EventFilterOptions { Namespaces = [new NamespaceMatch(NamespaceKind.Net, 4026532888)] });

        Assert.True(filter.Matches(Hook(SetuidHook, tid: 301, namespaces: InitNamespaces with { Net = 4026532888 })));
        Assert.False(filter.Matches(Hook(SetuidHook, tid: 302)));
    }

    [Fact]
    public void Several_namespaces_are_alternatives()
    {
        var filter = EventFilter.Create(new EventFilterOptions
        {
            Namespaces = [NamespaceMatch.Parse("pid=1"), NamespaceMatch.Parse("uts:4026531838")],
        });

        Assert.True(filter.Matches(Exec()));
    }

    [Fact]
    public void All_given_criteria_must_hold()
    {
        var filter = EventFilter.Create(new EventFilterOptions { EventTypes = ["exec"], Pids = [300], BinaryRegex = ["sh$"] });

        Assert.False(filter.Matches(Exec()));
        Assert.False(filter.Matches(Exec(Sh)));
        Assert.True(EventFilter.Create(new EventFilterOptions { EventTypes = ["exec"], Pids = [200], BinaryRegex = ["sh$"] }).Matches(Exec(Sh)));
    }

    [Theory]
    [InlineData("pid_for_children:4026531836", NamespaceKind.PidForChildren, 4026531836u)]
    [InlineData(" NET = 12 ", NamespaceKind.Net, 12u)]
    public void Namespace_match_parses_kind_and_inum(string text, NamespaceKind kind, uint inum)
    {
        Assert.Equal(new NamespaceMatch(kind, inum), NamespaceMatch.Parse(text));
    }

    [Theory]
    [InlineData("mnt")]
    [InlineData("disk:12")]
    [InlineData("mnt:-1")]
    public void Namespace_match_rejects_other_text_with_the_expected_form(string text)
    {
        var error = Assert.Throws<FormatException>(() => NamespaceMatch.Parse(text));

        Assert.Contains("kind:inum", error.Message);
        Assert.Contains(text, error.Message);
    }
}
