using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

public sealed class ContainerInitTreeTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly ContainerIdentity Container = new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", null);
    private static readonly ProcessKey Runc = Key(100, 1_000);
    private static readonly ProcessKey ContainerInit = Key(200, 2_000);
    private static readonly ProcessKey Worker = Key(300, 3_000);
    private static readonly ProcessKey Forked = Key(310, 3_100);
    private static readonly ProcessKey Entered = Key(400, 4_000);

    [Fact]
    public async Task Descendants_of_a_containers_init_are_in_its_init_tree_and_a_process_entered_from_outside_is_not()
    {
        await using var pipeline = StartPipeline(TestSettings with { EmitClones = true });

        await FeedAndFlush(pipeline,
            Exec(Runc, ProcessKey.None, "/usr/bin/runc"),
            InContainer(Exec(ContainerInit, Runc, "/sbin/init"), namespacePid: 1),
            InContainer(Exec(Worker, ContainerInit, "/usr/bin/worker"), namespacePid: 5),
            Clone(Forked, Worker),
            InContainer(Exec(Entered, Runc, "/bin/sh"), namespacePid: 9));

        var execs = Sink.Of<EnrichedExec>().ToDictionary(exec => exec.Process.Binary);
        Assert.False(execs["/usr/bin/runc"].Process.InInitTree);
        Assert.Null(execs["/usr/bin/runc"].Process.Container);
        Assert.True(execs["/sbin/init"].Process.InInitTree);
        Assert.True(execs["/usr/bin/worker"].Process.InInitTree);
        Assert.False(execs["/bin/sh"].Process.InInitTree);
        Assert.Equal(Container, execs["/bin/sh"].Process.Container);
        var fork = Assert.Single(Sink.Of<EnrichedClone>(), clone => clone.Process.Pid == Forked.Pid);
        Assert.Equal(Container, fork.Process.Container);
        Assert.True(fork.Process.InInitTree);
    }

    private static ExecEvent InContainer(ExecEvent exec, int namespacePid) =>
        exec with { Container = Container, Details = new ExecDetails(0, new UserNamespaceOwner(0, 0, 0), namespacePid, default) };
}
