using System.Diagnostics;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// Three gateways as real processes with a split-brain resolver that waits a minute: a gateway killed
/// with SIGKILL is downed by the others within seconds all the same (its port refuses connections, so
/// it is gone), while a frozen one (its port still takes connections: it may only be paused) is left to
/// the failure detector and the resolver.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class GoneMemberDowningTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    /// <summary>Far longer than the test waits: a member downed within it was not downed by the resolver.</summary>
    private static readonly TimeSpan DownUnreachableAfter = TimeSpan.FromSeconds(60);

    /// <summary>Failure detection of the freeze (about 4 s) with room to spare; still well below DownUnreachableAfter.</summary>
    private static readonly TimeSpan FrozenWatch = TimeSpan.FromSeconds(12);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private const string DownedGone = "forkline_cluster_gone_members_downed_total";
    private readonly TestDatabase _database = server.NewDatabase();

    public void Dispose() => _database.Dispose();

    [PostgresFact]
    public async Task A_killed_gateway_is_downed_within_seconds_and_a_frozen_one_is_left_to_the_resolver()
    {
        var ports = new[] { TestNodes.FreePort(), TestNodes.FreePort(), TestNodes.FreePort() };
        var seeds = ports.Select(port => GatewaySettings.SeedAddress("127.0.0.1", port)).ToArray();
        await using var first = GatewayProcess.Start("gateway-1", ports[0], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        await using var second = GatewayProcess.Start("gateway-2", ports[1], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        await using var third = GatewayProcess.Start("gateway-3", ports[2], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        try
        {
            await Task.WhenAll(first.WaitUntilTakesStreamsAsync(Patience), second.WaitUntilTakesStreamsAsync(Patience), third.WaitUntilTakesStreamsAsync(Patience));
            await TestNodes.EventuallyAsync(async () => (await Task.WhenAll(first.GatewaysUpAsync(), second.GatewaysUpAsync(), third.GatewaysUpAsync())).All(up => up == 3),
                "every gateway sees three Up gateways", Patience);

            // Frozen: unreachable to the others, yet its port takes connections, so nothing proves it gone.
            third.Freeze();
            await Task.Delay(FrozenWatch);
            var upWhileFrozen = await Task.WhenAll(first.GatewaysUpAsync(), second.GatewaysUpAsync());
            Assert.Equal([3, 3], upWhileFrozen);
            Assert.Equal(0, await first.MetricAsync(DownedGone) + await second.MetricAsync(DownedGone));
            third.Thaw();
            await TestNodes.EventuallyAsync(async () => await third.GatewaysUpAsync() == 3, "the thawed gateway is back among three Up gateways", Patience);

            var sinceKill = Stopwatch.StartNew();
            third.KillHard();
            await TestNodes.EventuallyAsync(async () => (await Task.WhenAll(first.GatewaysUpNoneDownAsync(), second.GatewaysUpNoneDownAsync())).All(up => up == 2),
                "both survivors see two Up gateways: the killed one is downed and removed", Patience);
            output.WriteLine($"the killed gateway was downed and removed {sinceKill.Elapsed.TotalSeconds:N1} s after the kill");
            Assert.True(sinceKill.Elapsed < TimeSpan.FromSeconds(20), $"downed within 20 s, long before the resolver would: {sinceKill.Elapsed.TotalSeconds:N1} s");
            Assert.True(await first.MetricAsync(DownedGone) + await second.MetricAsync(DownedGone) >= 1, "a survivor counted the gone gateway it downed");
            await Task.WhenAll(first.WaitUntilTakesStreamsAsync(Patience), second.WaitUntilTakesStreamsAsync(Patience));
        }
        catch
        {
            foreach (var gateway in new[] { first, second, third }) output.WriteLine($"--- {gateway.Name} (port {gateway.Port}) ---\n{gateway.LogTail(60)}");
            throw;
        }
    }
}
