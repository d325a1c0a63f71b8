using Forkline.Gateway.Tests.Support;
using Forkline.Gateway.Tests.Support.PostgreSql;
using Npgsql;

namespace Forkline.Gateway.Tests;

/// <summary>
/// Gateways starting at once on one PostgreSQL database take turns under its schema lock, each holding it
/// through its whole start (up to a minute on a busy host): a gateway waiting its turn must not give up
/// at the connection's command timeout (30 s by default), as the third of three gateways did on a busy host.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class SchemaLockOnPostgreSqlTests(PostgresServer server) : IDisposable
{
    private readonly TestDatabase _data = server.NewDatabase();

    public void Dispose() => _data.Dispose();

    [DatabaseFact]
    public async Task A_gateway_waits_for_the_schema_lock_beyond_the_command_timeout_of_its_connection()
    {
        var impatient = _data.Settings with
        {
            ConnectionString = new NpgsqlConnectionStringBuilder(_data.Settings.ConnectionString) { CommandTimeout = 1 }.ToString(),
        };
        Task<IAsyncDisposable> waiting;
        await using (await _data.Settings.LockSchemaAsync(CancellationToken.None))
        {
            waiting = impatient.LockSchemaAsync(CancellationToken.None);
            // Three command timeouts: a wait bounded by the connection's timeout would have failed by now.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(waiting.IsCompleted, waiting.Exception?.GetBaseException().Message ?? "granted while another session held the lock");
        }
        await using var granted = await waiting.WaitAsync(TestNodes.Patience);
    }
}
