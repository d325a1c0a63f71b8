using System.Data.Common;
using Akka.Actor;
using Akka.Persistence;
using Forkline.Gateway.History;
using Forkline.Gateway.Storage;

namespace Forkline.Gateway.Hosting;

/// <summary>
/// Brings a gateway's database up before anything uses it: the history tables, then the journal and
/// snapshot tables that Akka.Persistence.Sql creates when its plugins start. Gateways starting at
/// once on one fresh PostgreSQL database would race on those CREATE TABLE statements (the loser's
/// snapshot store fails to initialize), so the whole step runs under the database's schema lock.
/// </summary>
internal static class GatewayStorage
{
    private const string WarmUpPersistenceId = "forkline-storage-check";

    public static async Task<ActorSystem> StartAsync(DatabaseSettings database, HistoryStore history, Func<ActorSystem> createSystem,
        TimeSpan timeout, CancellationToken ct)
    {
        IAsyncDisposable exclusive;
        try
        {
            exclusive = await database.LockSchemaAsync(ct);
            try
            {
                await database.PrepareAsync(ct);
                await history.EnsureSchemaAsync(ct);
            }
            catch
            {
                await exclusive.DisposeAsync();
                throw;
            }
        }
        catch (Exception e) when (e is DbException or IOException or UnauthorizedAccessException)
        {
            // Locked by another process, read-only, full, unreachable: the cause in one line, for the operator.
            throw new InvalidOperationException($"the database {database.Describe()} is unusable: {e.Message} — {Remedy(e)}", e);
        }
        await using var held = exclusive;
        var system = createSystem();
        try
        {
            await StartPersistencePluginsAsync(system, timeout);
            return system;
        }
        catch
        {
            await system.Terminate();
            throw;
        }
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
