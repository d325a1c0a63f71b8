using Akka.Configuration;
using Akka.Coordination;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Forkline.Hosting;
using Npgsql;

namespace Forkline.Gateway.Tests.Hosting;

/// <summary>The split-brain resolver's lease on a real PostgreSQL database: one holder at a time, expiry, renewal, loss.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class DatabaseLeaseTests(PostgresServer server) : IDisposable
{
    /// <summary>Akka's default for the split-brain resolver's lease: the actor system's name + "-akka-sbr".</summary>
    private const string LeaseName = GatewaySettings.SystemName + "-akka-sbr";

    private readonly TestDatabase _data = server.NewDatabase();

    public void Dispose() => _data.Dispose();

    [DatabaseFact]
    public async Task A_gateway_on_PostgreSQL_resolves_splits_with_a_lease_in_its_database_and_creates_its_table()
    {
        var settings = TestNodes.Settings(_data);
        await using var node = await TestNodes.StartAsync(settings with { Cluster = settings.Cluster with { LeaseTimeout = TimeSpan.FromSeconds(8) } });
        var config = node.System.Settings.Config;

        Assert.Equal("lease-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal("off", config.GetString("akka.cluster.split-brain-resolver.down-all-when-unstable"));
        var lease = LeaseProvider.Get(node.System).GetLease(LeaseName,
            config.GetString("akka.cluster.split-brain-resolver.lease-majority.lease-implementation"), "127.0.0.1:4053");
        Assert.IsType<DatabaseLease>(lease);
        Assert.Equal(TimeSpan.FromSeconds(8), lease.Settings.TimeoutSettings.HeartbeatTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), lease.Settings.TimeoutSettings.HeartbeatInterval);
        Assert.Empty(await OwnersAsync());
        Assert.True(await lease.Acquire());
        Assert.Single(await OwnersAsync());
    }

    [DatabaseFact]
    public async Task Of_gateways_racing_for_a_free_lease_exactly_one_gets_it_and_another_only_after_its_release()
    {
        await CreateTableAsync();
        var leases = Enumerable.Range(1, 8).Select(n => LeaseOf($"127.0.0.1:{4050 + n}")).ToList();

        var acquired = await Task.WhenAll(leases.Select(lease => lease.Acquire()));

        var holder = Assert.Single(leases, lease => acquired[leases.IndexOf(lease)]);
        Assert.Equal(leases.Select(lease => lease == holder), leases.Select(lease => lease.CheckLease()));
        Assert.Equal([holder.Owner], await OwnersAsync());
        var other = leases.First(lease => lease != holder);
        Assert.False(await other.Acquire());

        Assert.True(await holder.Release());

        Assert.False(holder.CheckLease());
        Assert.Empty(await OwnersAsync());
        Assert.True(await other.Acquire());
        Assert.True(other.CheckLease());
    }

    [DatabaseFact]
    public async Task A_lease_held_by_a_gateway_that_stopped_renewing_it_is_taken_only_once_it_expired()
    {
        await CreateTableAsync();
        await ExecuteAsync($"INSERT INTO {DatabaseLease.TableName} VALUES ('{LeaseName}', '127.0.0.1:4053 frozen', now() + interval '1 hour')");
        var survivor = LeaseOf("127.0.0.1:4054");

        Assert.False(await survivor.Acquire());
        Assert.False(survivor.CheckLease());

        // As if the hour had passed without a renewal.
        await ExecuteAsync($"UPDATE {DatabaseLease.TableName} SET expires_at = now() - interval '1 second'");

        Assert.True(await survivor.Acquire());
        Assert.Equal([survivor.Owner], await OwnersAsync());
    }

    [DatabaseFact]
    public async Task A_restarted_gateway_on_the_same_address_does_not_inherit_the_lease_of_the_one_before_it()
    {
        await CreateTableAsync();
        var before = LeaseOf("127.0.0.1:4053");
        Assert.True(await before.Acquire());

        var restarted = LeaseOf("127.0.0.1:4053");

        Assert.False(await restarted.Acquire());
        Assert.NotEqual(before.Owner, restarted.Owner);
    }

    [DatabaseFact]
    public async Task A_holder_keeps_renewing_its_lease_and_is_told_when_another_owner_took_it()
    {
        await CreateTableAsync();
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = LeaseOf("127.0.0.1:4053", timeout: TimeSpan.FromSeconds(4));
        Assert.True(await holder.Acquire(cause => lost.TrySetResult(cause)));
        var firstExpiry = await ExpiryAsync();

        await TestNodes.EventuallyAsync(async () => await ExpiryAsync() > firstExpiry, "the holder renews its lease");
        Assert.True(holder.CheckLease());

        await ExecuteAsync($"UPDATE {DatabaseLease.TableName} SET owner = '127.0.0.1:4054 other'");

        var cause = await lost.Task.WaitAsync(TestNodes.Patience);
        Assert.IsType<LeaseException>(cause);
        Assert.Contains("127.0.0.1:4053", cause.Message);
        Assert.False(holder.CheckLease());
        Assert.Equal(["127.0.0.1:4054 other"], await OwnersAsync());
    }

    private async Task CreateTableAsync()
    {
        await using var connection = await _data.Settings.OpenAsync(CancellationToken.None);
        await DatabaseLease.EnsureSchemaAsync(connection, CancellationToken.None);
    }

    private DatabaseLease LeaseOf(string owner, TimeSpan? timeout = null)
    {
        var heartbeatTimeout = timeout ?? TimeSpan.FromSeconds(20);
        var timeouts = new TimeoutSettings(heartbeatTimeout / 4, heartbeatTimeout, TimeSpan.FromSeconds(30));
        return new DatabaseLease(new LeaseSettings(LeaseName, owner, timeouts, Config.Empty), _data.Settings);
    }

    private async Task<List<string>> OwnersAsync()
    {
        await using var connection = new NpgsqlConnection(_data.Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT owner FROM {DatabaseLease.TableName}", connection);
        var owners = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) owners.Add(reader.GetString(0));
        return owners;
    }

    private async Task<DateTime> ExpiryAsync()
    {
        await using var connection = new NpgsqlConnection(_data.Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT expires_at FROM {DatabaseLease.TableName}", connection);
        return (DateTime)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_data.Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
