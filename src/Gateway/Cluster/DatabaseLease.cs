using System.Data.Common;
using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Coordination;
using Forkline.Gateway.Storage;

namespace Forkline.Gateway.Cluster;

/// <summary>Hands the fleet's database to <see cref="DatabaseLease"/>, which Akka builds by reflection from its HOCON block.</summary>
public sealed class DatabaseLeaseSetup(DatabaseSettings database) : Setup
{
    public DatabaseSettings Database { get; } = database;
}

/// <summary>
/// An Akka.Coordination lease kept as a row of the fleet's PostgreSQL database: the split-brain
/// resolver's arbiter (<c>lease-majority</c>). Whoever holds the row, unexpired, holds the lease; the
/// holder renews it every <see cref="TimeoutSettings.HeartbeatInterval"/>, so a holder that crashed or
/// froze loses it once <see cref="TimeoutSettings.HeartbeatTimeout"/> passes. A row rather than an
/// advisory lock: a frozen process keeps its connection, and so a session lock, for as long as the
/// kernel keeps its socket; a row's expiry does not depend on that. Expiry is reckoned by the database's
/// clock, so the gateways' clocks play no part in who holds it.
/// </summary>
public sealed class DatabaseLease : Lease
{
    public const string TableName = "cluster_leases";

    private static readonly string[] Schema =
    [
        $"""
         CREATE TABLE IF NOT EXISTS {TableName} (
             name TEXT NOT NULL PRIMARY KEY,
             owner TEXT NOT NULL,
             expires_at TIMESTAMPTZ NOT NULL)
         """,
    ];

    // One statement decides: a missing row is inserted; an existing one is taken only when it is this
    // owner's or expired. PostgreSQL re-reads a row that a concurrent acquire changed before it judges
    // the WHERE, so two owners racing never both get a row back.
    private const string AcquireSql = $"""
        INSERT INTO {TableName} (name, owner, expires_at) VALUES (@name, @owner, now() + @timeout)
        ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE {TableName}.owner = excluded.owner OR {TableName}.expires_at < now()
        RETURNING owner
        """;

    private const string RenewSql = $"UPDATE {TableName} SET expires_at = now() + @timeout WHERE name = @name AND owner = @owner";

    private const string ReleaseSql = $"DELETE FROM {TableName} WHERE name = @name AND owner = @owner";

    private readonly DatabaseSettings _database;
    private readonly SemaphoreSlim _oneStatementAtATime = new(1, 1);
    private readonly CancellationTokenSource _stopped = new();

    /// <summary>Read outside the statements' turn by <see cref="CheckLease"/>, hence volatile.</summary>
    private volatile HeldLease? _held;

    /// <summary>What Akka's LeaseProvider calls: the database comes with <see cref="DatabaseLeaseSetup"/>.</summary>
    public DatabaseLease(LeaseSettings settings, ExtendedActorSystem system)
        : this(settings, DatabaseOf(system))
    {
        // Renewals run on the thread pool, not on the actor system: they stop when it does.
        system.WhenTerminated.ContinueWith(_ => _stopped.Cancel(), TaskScheduler.Default);
    }

    public DatabaseLease(LeaseSettings settings, DatabaseSettings database)
        : base(settings)
    {
        if (database.Provider != DatabaseProvider.PostgreSql)
            throw new ArgumentException($"the lease needs the fleet's PostgreSQL database, not {database.Provider}", nameof(database));
        _database = database;
        // A restarted gateway has its predecessor's address but not its lease: it must wait for the expiry
        // like everyone else, since the split-brain resolver took the predecessor's decisions, not its own.
        Owner = $"{settings.OwnerName} {Guid.NewGuid().ToString("N")[..12]}";
    }

    /// <summary>The owner as the row names it: the node's address and an incarnation.</summary>
    public string Owner { get; }

    /// <summary>Creates the lease table (under the caller's schema lock).</summary>
    public static async Task EnsureSchemaAsync(DbConnection connection, CancellationToken ct)
    {
        foreach (var statement in Schema)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = statement;
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    public override Task<bool> Acquire() => Acquire(null);

    public override async Task<bool> Acquire(Action<Exception>? leaseLostCallback)
    {
        var asked = Stopwatch.GetTimestamp();
        var acquired = await RunAsync(AcquireSql, "acquire", async command => await command.ExecuteScalarAsync(_stopped.Token) is string);
        if (!acquired) return false;
        var held = new HeldLease(asked, leaseLostCallback);
        _held = held;
        _ = RenewWhileHeldAsync(held);
        return true;
    }

    public override async Task<bool> Release()
    {
        _held = null;
        await RunAsync(ReleaseSql, "release", async command => await command.ExecuteNonQueryAsync(_stopped.Token));
        return true;
    }

    /// <summary>
    /// True only while the last renewal the database confirmed was asked for less than the timeout ago:
    /// the row may have expired since, for all this node knows, once that much time has passed.
    /// </summary>
    public override bool CheckLease() => _held is { } held && Stopwatch.GetElapsedTime(held.ConfirmedAt) < Settings.TimeoutSettings.HeartbeatTimeout;

    private async Task RenewWhileHeldAsync(HeldLease held)
    {
        using var ticks = new PeriodicTimer(Settings.TimeoutSettings.HeartbeatInterval);
        try
        {
            while (await ticks.WaitForNextTickAsync(_stopped.Token) && _held == held)
            {
                var asked = Stopwatch.GetTimestamp();
                bool renewed;
                try
                {
                    renewed = await RunAsync(RenewSql, "renew", async command => await command.ExecuteNonQueryAsync(_stopped.Token) == 1);
                }
                catch (LeaseException e)
                {
                    // Unconfirmed is not lost yet: the row stays ours until it expires, and the next tick tries again.
                    if (!CheckLease()) Lose(held, e);
                    continue;
                }
                if (_held != held) return;
                if (renewed) held.ConfirmedAt = asked;
                else Lose(held, new LeaseException($"lease {Settings.LeaseName} of {Owner} expired and was taken by another owner, or removed"));
            }
        }
        catch (OperationCanceledException) when (_stopped.IsCancellationRequested)
        {
            // The actor system ended; the row expires on its own.
        }
    }

    private void Lose(HeldLease held, Exception cause)
    {
        if (Interlocked.CompareExchange(ref _held, null, held) != held) return;
        held.LostCallback?.Invoke(cause);
    }

    /// <summary>One statement on a connection of its own, within the lease's operation timeout.</summary>
    private async Task<T> RunAsync<T>(string sql, string operation, Func<DbCommand, Task<T>> execute)
    {
        var timeout = Settings.TimeoutSettings.OperationTimeout;
        await _oneStatementAtATime.WaitAsync(_stopped.Token);
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopped.Token);
            deadline.CancelAfter(timeout);
            await using var connection = await _database.OpenAsync(deadline.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
            AddParameter(command, "name", Settings.LeaseName);
            AddParameter(command, "owner", Owner);
            AddParameter(command, "timeout", Settings.TimeoutSettings.HeartbeatTimeout);
            return await execute(command);
        }
        catch (OperationCanceledException e) when (!_stopped.IsCancellationRequested)
        {
            throw new LeaseTimeoutException($"{operation} of lease {Settings.LeaseName} by {Owner} took longer than {timeout} ({_database.Describe()})", e);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            throw new LeaseException($"{operation} of lease {Settings.LeaseName} by {Owner} failed ({_database.Describe()}): {e.Message}", e);
        }
        finally
        {
            _oneStatementAtATime.Release();
        }
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    private static DatabaseSettings DatabaseOf(ExtendedActorSystem system) =>
        system.Settings.Setup.Get<DatabaseLeaseSetup>() is { HasValue: true } setup
            ? setup.Value.Database
            : throw new InvalidOperationException($"{nameof(DatabaseLease)} needs a {nameof(DatabaseLeaseSetup)} in the actor system's setup");

    /// <summary>One holding of the lease: when the database last confirmed it, and whom to tell when it is lost.</summary>
    private sealed class HeldLease(long confirmedAt, Action<Exception>? lostCallback)
    {
        private long _confirmedAt = confirmedAt;

        /// <summary>A <see cref="Stopwatch"/> timestamp: when the last confirmed statement was asked for.</summary>
        public long ConfirmedAt
        {
            get => Volatile.Read(ref _confirmedAt);
            set => Volatile.Write(ref _confirmedAt, value);
        }

        public Action<Exception>? LostCallback { get; } = lostCallback;
    }
}
