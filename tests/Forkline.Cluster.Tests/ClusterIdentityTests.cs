using Akka.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Cluster.Tests;

/// <summary>
/// A node that claims what is not its own (a live member's address; a role its certificate does not
/// grant: <see cref="ClusterTlsTests.A_certificate_issued_for_a_collector_cannot_start_a_gateway"/>) is
/// refused at its start, in one line, and the members it would have disturbed stay Up.
/// </summary>
public sealed class ClusterIdentityTests
{
    /// <summary>Short, so that a member the intruder disturbed would be downed well within the test.</summary>
    private static readonly TimeSpan DownUnreachableAfter = TimeSpan.FromSeconds(2);

    /// <summary>Failure detection (a few seconds) plus the resolver's stable-after, with room to spare.</summary>
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(12);

    /// <summary>A gateway process's start on a busy 2-core host (JIT, schema, cluster join).</summary>
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_gateway_started_on_the_cluster_address_of_a_live_member_is_refused_in_one_line_and_no_member_is_downed()
    {
        using var shared = new TestDatabase();
        using var own = new TestDatabase();
        await using var first = await TestNodes.StartAsync(Gateway(shared, seeds: null));
        await using var second = await TestNodes.StartAsync(Gateway(shared, seeds: [first.SeedAddress]));
        await TestNodes.EventuallyAsync(() => Task.FromResult(UpMembers(first) == 2 && UpMembers(second) == 2), "both gateways see two Up members");

        var port = first.Address.Port!.Value;
        var intruder = Gateway(own, seeds: [first.SeedAddress], port);
        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => GatewayNode.StartAsync(intruder));

        Assert.StartsWith($"the cluster port 127.0.0.1:{port} is in use by another process", refusal.Message);
        Assert.DoesNotContain('\n', refusal.Message);
        await Task.Delay(Watch);
        Assert.False(first.IsDowned, "the member that owns the address is not downed");
        Assert.False(second.IsDowned, "the other member is not downed");
        Assert.Equal((2, 2), (UpMembers(first), UpMembers(second)));
    }

    [Fact]
    public async Task Two_gateways_started_at_the_same_instant_on_one_cluster_port_leave_one_running_and_the_other_refused_in_one_line()
    {
        using var firstData = new TestDatabase();
        using var secondData = new TestDatabase();
        var port = TestNodes.FreePort();

        await using var first = GatewayProcess.Start("gateway-a", port, TestNodes.FreePort(), [], firstData.Settings, DownUnreachableAfter, firstData.Path);
        await using var second = GatewayProcess.Start("gateway-b", port, TestNodes.FreePort(), [], secondData.Settings, DownUnreachableAfter, secondData.Path);
        var firstExit = first.ExitCodeWithinAsync(StartPatience);
        var secondExit = second.ExitCodeWithinAsync(StartPatience);
        var ended = await Task.WhenAny(firstExit, secondExit);
        var (refused, running, runningExit) = ended == firstExit ? (first, second, secondExit) : (second, first, firstExit);

        Assert.True(await ended == 1, $"one of two gateways on port {port} exits with code 1\n{first.Name}: {first.LogTail()}\n{second.Name}: {second.LogTail()}");
        Assert.Contains($"the cluster port 127.0.0.1:{port} is in use by another", refused.LogTail());
        await TestNodes.EventuallyAsync(async () => await running.GatewaysUpAsync() == 1, $"{running.Name} is an Up member of its own cluster", StartPatience);
        Assert.False(runningExit.IsCompleted, $"{running.Name} still runs\n{running.LogTail()}");
    }

    private static GatewaySettings Gateway(TestDatabase database, IReadOnlyList<string>? seeds, int port = 0)
    {
        var settings = TestNodes.Settings(database, collector: false, seeds: seeds, port: port);
        return settings with { Cluster = settings.Cluster with { DownUnreachableAfter = DownUnreachableAfter } };
    }

    private static int UpMembers(GatewayNode node) =>
        Akka.Cluster.Cluster.Get(node.System).State.Members.Count(member => member.Status == MemberStatus.Up);
}
