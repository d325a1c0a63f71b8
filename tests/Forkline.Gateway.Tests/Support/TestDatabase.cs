using Forkline.Gateway.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Forkline.Gateway.Tests.Support;

/// <summary>
/// One test's database: a SQLite file in a fresh folder under /tmp, or, given a PostgreSQL server's
/// connection string (Host=...;Port=...;Username=...), a fresh database on that server. Removed afterwards.
/// </summary>
public sealed class TestDatabase : IDisposable
{
    private readonly string? _postgresServer;
    private readonly string _name = "forkline_test_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A SQLite file.</summary>
    public TestDatabase()
        : this(postgresServer: null)
    {
    }

    public TestDatabase(string? postgresServer)
    {
        _postgresServer = postgresServer;
        Directory.CreateDirectory(Path);
        if (_postgresServer is null)
        {
            Settings = DatabaseSettings.SqliteIn(Path);
            return;
        }
        ExecuteOnServer($"CREATE DATABASE {_name}");
        Settings = new DatabaseSettings(DatabaseProvider.PostgreSql, new NpgsqlConnectionStringBuilder(_postgresServer) { Database = _name }.ToString());
    }

    /// <summary>The node's data folder (holds the SQLite file when SQLite is used).</summary>
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "forkline-test-" + Guid.NewGuid().ToString("N")[..12]);

    public DatabaseSettings Settings { get; }

    public void Dispose()
    {
        // Pooled connections keep the SQLite file (or the PostgreSQL database) open.
        SqliteConnection.ClearAllPools();
        if (_postgresServer is not null)
        {
            NpgsqlConnection.ClearAllPools();
            ExecuteOnServer($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");
        }
        Directory.Delete(Path, recursive: true);
    }

    private void ExecuteOnServer(string sql)
    {
        using var connection = new NpgsqlConnection(_postgresServer);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
