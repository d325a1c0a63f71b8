using System.Data.Common;
using Akka.Actor;
using Akka.Persistence;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.History;
using Forkline.Gateway.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Forkline.Hosting;

/// <summary>
/// Brings a gateway's database up before anything uses it: the history tables, then the journal and
/// snapshot tables that Akka.Persistence.Sql creates when its plugins start. Gateways starting at
/// once on one fresh PostgreSQL database would race on those CREATE TABLE statements (the loser's
/// snapshot store fails to initialize), so the whole step runs under the database's schema lock:
/// taken before the actor system starts (<see cref="StartingAsync"/>), released once both plugins
/// have answered (<see cref="StartedAsync"/>). A SQLite data directory is this node's alone while it runs.
/// </summary>
internal sealed class GatewayStorage(GatewaySettings settings, DatabaseSettings database, HistoryStore history, IServiceProvider services) : IHostedLifecycleService
{
    private const string WarmUpPersistenceId = "forkline-storage-check";

    /// <summary>
    /// The plugins' first queries compile their SQL and JIT their code: seconds on a busy 2-core host
    /// (ten measured under a build), so not the request ask timeout. A busy host must not stop a node from starting.
    /// </summary>
    private static readonly TimeSpan PluginStartTimeout = TimeSpan.FromSeconds(60);

    private DataDirectoryLock? _dataLock;
    private IAsyncDisposable? _schemaLock;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        // The SQLite database in the data directory is this node's alone: a second node there would write the same journal.
        if (settings.Database.InDataDirectory) _dataLock = DataDirectoryLock.Acquire(settings.DataDirectory);
        try
        {
            _schemaLock = await database.LockSchemaAsync(cancellationToken);
            await database.PrepareAsync(cancellationToken);
            await history.EnsureSchemaAsync(cancellationToken);
            if (settings.SplitBrainResolver == SplitBrainStrategy.LeaseMajority)
            {
                await using var connection = await database.OpenAsync(cancellationToken);
                await DatabaseLease.EnsureSchemaAsync(connection, cancellationToken);
            }
        }
        catch (Exception e) when (e is DbException or IOException or UnauthorizedAccessException)
        {
            // Locked by another process, read-only, full, unreachable: the cause in one line, for the operator.
            throw new InvalidOperationException($"the database {database.Describe()} is unusable: {e.Message} — {Remedy(e)}", e);
        }
    }

    /// <summary>
    /// After the actor system started (Akka.Hosting's service is registered first) and before the gateway's
    /// own start: its read journal waits only 5 s for the journal to be initialized (Akka.Persistence.Sql),
    /// too short for a first start on a busy host.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await StartPersistencePluginsAsync(services.GetRequiredService<ActorSystem>(), PluginStartTimeout);
        await ReleaseSchemaLockAsync();
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        await ReleaseSchemaLockAsync();
        _dataLock?.Dispose();
        _dataLock = null;
    }

    private async Task ReleaseSchemaLockAsync()
    {
        var held = Interlocked.Exchange(ref _schemaLock, null);
        if (held is not null) await held.DisposeAsync();
    }

    private static string Remedy(Exception e) => StoreFault.Of(e) is { IsStorage: true } fault
        ? fault.Remedy
        : "check the database settings and that the database is reachable";

    /// <summary>
    /// A read from the journal and from the snapshot store: each answers once its plugin has created
    /// or found its tables, so the schema lock is released only after both did.
    /// </summary>
    private static async Task StartPersistencePluginsAsync(ActorSystem system, TimeSpan timeout)
    {
        var persistence = Persistence.Instance.Apply(system);
        try
        {
            await ReadBothAsync(persistence, timeout);
        }
        catch (AskTimeoutException e)
        {
            throw new InvalidOperationException($"the journal or snapshot store did not answer within {timeout.TotalSeconds:0} s of start — check that the database is reachable and not locked", e);
        }
    }

    private static async Task ReadBothAsync(PersistenceExtension persistence, TimeSpan timeout)
    {
        var journal = await persistence.JournalFor(null).Ask<object>(
            replyTo => new ReplayMessages(0, 0, 0, WarmUpPersistenceId, replyTo), timeout, CancellationToken.None);
        if (journal is ReplayMessagesFailure journalFailure)
            throw new InvalidOperationException($"the journal cannot read its table: {journalFailure.Cause.Message}", journalFailure.Cause);
        var snapshots = await persistence.SnapshotStoreFor(null).Ask<object>(
            new LoadSnapshot(WarmUpPersistenceId, SnapshotSelectionCriteria.Latest, long.MaxValue), timeout);
        if (snapshots is LoadSnapshotFailed snapshotFailure)
            throw new InvalidOperationException($"the snapshot store cannot read its table: {snapshotFailure.Cause.Message}", snapshotFailure.Cause);
    }
}
