using System.ComponentModel;
using System.Data.Common;
using System.Globalization;
using LinqToDB;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Forkline.Gateway.Storage;

[TypeConverter(typeof(DatabaseProviderConverter))]
public enum DatabaseProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// The Database section: the one database of a gateway (journal, snapshots, history table). The provider
/// is configuration only: the same code runs on an embedded SQLite file and on a PostgreSQL server.
/// </summary>
public sealed record DatabaseSettings
{
    public DatabaseSettings()
    {
    }

    public DatabaseSettings(DatabaseProvider provider, string connectionString) => (Provider, ConnectionString) = (provider, connectionString);

    public DatabaseProvider Provider { get; init; } = DatabaseProvider.Sqlite;

    /// <summary>Empty = a SQLite file in the gateway's data directory (<see cref="In"/>); PostgreSQL needs one.</summary>
    public string ConnectionString { get; init; } = "";

    /// <summary>Whether this is the SQLite file in the gateway's data directory, which that node alone may use.</summary>
    public bool InDataDirectory => ConnectionString.Length == 0;

    public const string DefaultFileName = "forkline.db";

    /// <summary>
    /// Set on every SQLite connection. In WAL mode NORMAL syncs the log only at checkpoints, not at
    /// every commit: a power loss may lose the last commits, but an application crash loses nothing
    /// and the file stays consistent. A commit per journal batch no longer costs an fsync each.
    /// </summary>
    private const string SqliteSessionPragmas = "PRAGMA synchronous=NORMAL;";

    /// <summary>The PostgreSQL advisory lock key of gateway storage start-up ("FKLNSTRT").</summary>
    private const long SchemaLockKey = 0x464B_4C4E_5354_5254;

    /// <summary>
    /// How long a gateway waits for the schema lock. Another gateway holds it through its own start (actor
    /// system, then up to a minute for its journal and snapshot store on a busy host), and several may be
    /// starting at once, so not the 30 s a command gets by default.
    /// </summary>
    public static readonly TimeSpan SchemaLockWait = TimeSpan.FromMinutes(5);

    /// <summary>These settings with a connection string: the SQLite file in <paramref name="dataDirectory"/> when none is given.</summary>
    public DatabaseSettings In(string dataDirectory) => InDataDirectory ? SqliteIn(dataDirectory) : this;

    public void Validate()
    {
        if (Provider != DatabaseProvider.Sqlite && InDataDirectory)
            throw new ArgumentException(
                $"Database:Provider {Provider} needs Database:ConnectionString (Host=...;Port=5432;Database=forkline;Username=...;Password=...)");
    }

    /// <summary>A SQLite file in <paramref name="dataDirectory"/> (created when missing).</summary>
    public static DatabaseSettings SqliteIn(string dataDirectory) =>
        new(DatabaseProvider.Sqlite, new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(Path.Combine(dataDirectory, DefaultFileName)) }.ToString());

    public string Linq2DbProviderName => Provider switch
    {
        DatabaseProvider.Sqlite => "SQLite.MS",
        DatabaseProvider.PostgreSql => "PostgreSQL.15",
        _ => throw new ArgumentOutOfRangeException(nameof(Provider), Provider, "unknown database provider"),
    };

    public DbProviderFactory Factory => Provider switch
    {
        DatabaseProvider.Sqlite => SqliteFactory.Instance,
        DatabaseProvider.PostgreSql => NpgsqlFactory.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(Provider), Provider, "unknown database provider"),
    };

    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = Factory.CreateConnection()
            ?? throw new InvalidOperationException($"the {Provider} provider factory made no connection");
        connection.ConnectionString = ConnectionString;
        try
        {
            await connection.OpenAsync(ct);
            if (Provider == DatabaseProvider.Sqlite) await ApplySqliteSessionPragmasAsync(connection, ct);
            return connection;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException($"cannot open the {Provider} database ({Describe()}): {e.Message}", e);
        }
    }

    /// <summary>
    /// How the persistence plugins open their connections, so that they get the same session settings
    /// as ours; null when the provider needs none.
    /// </summary>
    public DataOptions? PersistenceDataOptions() => Provider == DatabaseProvider.Sqlite
        ? new DataOptions()
            .UseConnectionString(Linq2DbProviderName, ConnectionString)
            .UseAfterConnectionOpened(ApplySqliteSessionPragmas, ApplySqliteSessionPragmasAsync)
        : null;

    private static void ApplySqliteSessionPragmas(DbConnection connection)
    {
        using var pragma = connection.CreateCommand();
        pragma.CommandText = SqliteSessionPragmas;
        pragma.ExecuteNonQuery();
    }

    private static async Task ApplySqliteSessionPragmasAsync(DbConnection connection, CancellationToken ct)
    {
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = SqliteSessionPragmas;
        await pragma.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Creates the SQLite file's folder and switches the file to WAL (readers do not block the one
    /// writer). WAL is a property of the file, so once is enough, and a connection string cannot set it.
    /// </summary>
    public async Task PrepareAsync(CancellationToken ct)
    {
        if (Provider != DatabaseProvider.Sqlite) return;
        var file = new SqliteConnectionStringBuilder(ConnectionString).DataSource;
        var folder = Path.GetDirectoryName(Path.GetFullPath(file));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        await using var connection = await OpenAsync(ct);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL;";
        await pragma.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Holds the database's schema lock until disposed: on PostgreSQL a session advisory lock that
    /// queues gateways creating tables at the same time; SQLite serialises schema changes itself.
    /// </summary>
    public async Task<IAsyncDisposable> LockSchemaAsync(CancellationToken ct)
    {
        if (Provider != DatabaseProvider.PostgreSql) return NoLock.Instance;
        var connection = await OpenAsync(ct);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT pg_advisory_lock({SchemaLockKey})";
            command.CommandTimeout = (int)SchemaLockWait.TotalSeconds;
            await command.ExecuteNonQueryAsync(ct);
            return new SessionLock(connection, SchemaLockKey);
        }
        catch (NpgsqlException e) when (e.InnerException is TimeoutException)
        {
            await connection.DisposeAsync();
            throw new InvalidOperationException($"the schema lock of {Describe()} was not granted within {SchemaLockWait.TotalMinutes:0} min: " +
                                                "another gateway starting on this database holds it until its journal and snapshot store answer; check that gateway's log", e);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Where the database is, without credentials, for messages.</summary>
    public string Describe() => Provider switch
    {
        DatabaseProvider.Sqlite => "file " + new SqliteConnectionStringBuilder(ConnectionString).DataSource,
        _ => DescribeServer(),
    };

    private string DescribeServer()
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        return $"server {builder.Host}:{builder.Port} database {builder.Database}";
    }
}

/// <summary>Reads Database:Provider: sqlite, or postgresql under any of its usual names.</summary>
public sealed class DatabaseProviderConverter : EnumConverter
{
    public DatabaseProviderConverter() : base(typeof(DatabaseProvider))
    {
    }

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) => value is string name
        ? name.ToLowerInvariant() switch
        {
            "sqlite" => DatabaseProvider.Sqlite,
            "postgresql" or "postgres" or "npgsql" => DatabaseProvider.PostgreSql,
            _ => throw new FormatException($"'{name}' is not a database provider: use sqlite or postgresql"),
        }
        : base.ConvertFrom(context, culture, value);
}

file sealed class NoLock : IAsyncDisposable
{
    public static readonly NoLock Instance = new();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

file sealed class SessionLock(DbConnection connection, long key) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        // Unlocked explicitly: a pooled connection keeps its session, and so the lock, after Dispose.
        await using (connection)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT pg_advisory_unlock({key})";
            await command.ExecuteNonQueryAsync();
        }
    }
}
