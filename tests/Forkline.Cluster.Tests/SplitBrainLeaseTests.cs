using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;
using Npgsql;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// Three gateways as real processes on one PostgreSQL database, resolving splits with the lease in that
/// database (the default there). After one gateway's crash (downed without the resolver: its port refuses
/// connections) two are left, and a missed heartbeat between them is a tie: keep-majority breaks it for
/// the lowest address, also when that gateway is the one that froze, so the healthy one downs itself. The lease goes to the side that can still act.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class SplitBrainLeaseTests(PostgresServer server, ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan DownUnreachableAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly TestDatabase _database = server.NewDatabase();

    public void Dispose() => _database.Dispose();

    [PostgresFact]
    public async Task Two_of_three_gateways_survive_a_kill_and_when_the_lower_of_the_two_freezes_the_other_keeps_the_cluster()
    {
        var ports = new[] { TestNodes.FreePort(), TestNodes.FreePort(), TestNodes.FreePort() }.Order().ToArray();
        var seeds = ports.Select(port => GatewaySettings.SeedAddress("127.0.0.1", port)).ToArray();
        // Ordered by address, as the split-brain resolver orders members: lowest first.
        await using var lowest = GatewayProcess.Start("gateway-1", ports[0], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        await using var lower = GatewayProcess.Start("gateway-2", ports[1], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        await using var higher = GatewayProcess.Start("gateway-3", ports[2], TestNodes.FreePort(), seeds, _database.Settings, DownUnreachableAfter, _database.Path);
        try
        {
            await Task.WhenAll(lowest.WaitUntilTakesStreamsAsync(Patience), lower.WaitUntilTakesStreamsAsync(Patience), higher.WaitUntilTakesStreamsAsync(Patience));
            await TestNodes.EventuallyAsync(async () => (await Task.WhenAll(lowest.GatewaysUpAsync(), lower.GatewaysUpAsync(), higher.GatewaysUpAsync())).All(up => up == 3),
                "every gateway sees three Up gateways", Patience);

            // A crash: the survivors down the gone gateway without the resolver (GoneMemberDowning), so no lease is taken.
            lowest.KillHard();
            await TestNodes.EventuallyAsync(async () => (await Task.WhenAll(lower.GatewaysUpNoneDownAsync(), higher.GatewaysUpNoneDownAsync())).All(up => up == 2),
                "both survivors see two Up gateways: the killed one is downed and removed", Patience);
            Assert.Null(await LeaseHolderAsync());
            await Task.WhenAll(lower.WaitUntilTakesStreamsAsync(Patience), higher.WaitUntilTakesStreamsAsync(Patience));

            // A freeze of the lower address: to the higher its heartbeats stop as in a partition. Keep-majority
            // would keep the frozen lower side and down the higher; the higher takes the lease and downs the lower.
            lower.Freeze();
            var holder = await EventuallyHeldAsync("the gateway left running takes the lease");
            output.WriteLine($"lease taken by {holder} after the freeze");
            Assert.Contains($"@127.0.0.1:{higher.Port} ", holder);
            await TestNodes.EventuallyAsync(async () => await higher.GatewaysUpAsync() == 1, "the higher gateway downs the frozen one and stays Up", Patience);
            await higher.WaitUntilTakesStreamsAsync(Patience);

            // Thawed, the lower one finds itself downed (or the lease taken): it ends instead of going on as a second cluster.
            lower.Thaw();
            var exitCode = await lower.ExitCodeWithinAsync(Patience);
            output.WriteLine($"the thawed gateway exited with {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "nothing (still running)"}");
            Assert.NotNull(exitCode);
            Assert.Equal(1, await higher.GatewaysUpAsync());
            await higher.WaitUntilTakesStreamsAsync(Patience);
            // Let go 2 x DownUnreachableAfter after the downed gateway left.
            await TestNodes.EventuallyAsync(async () => await LeaseHolderAsync() is null, "the survivor lets the lease go", Patience);
            Assert.Equal(1, await higher.GatewaysUpAsync());
        }
        catch
        {
            foreach (var gateway in new[] { lowest, lower, higher }) output.WriteLine($"--- {gateway.Name} (port {gateway.Port}) ---\n{gateway.LogTail(60)}");
            throw;
        }
    }

    /// <summary>The owner of an unexpired lease, as the database sees it; polled until there is one.</summary>
    private async Task<string> EventuallyHeldAsync(string what)
    {
        string? holder = null;
        await TestNodes.EventuallyAsync(async () => (holder = await LeaseHolderAsync()) is not null, what, Patience);
        return holder!;
    }

    private async Task<string?> LeaseHolderAsync()
    {
        await using var connection = new NpgsqlConnection(_database.Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT owner FROM {DatabaseLease.TableName} WHERE expires_at > now()", connection);
        return await command.ExecuteScalarAsync() as string;
    }
}
