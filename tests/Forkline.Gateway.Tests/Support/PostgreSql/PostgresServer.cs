namespace Forkline.Gateway.Tests.Support.PostgreSql;

/// <summary>
/// The PostgreSQL server of the <see cref="PostgreSqlCollection"/>: a <see cref="LocalPostgres"/>
/// for the whole test run, or the existing server that FORKLINE_TEST_POSTGRES (a connection
/// string) names. Each test gets a database of its own from <see cref="NewDatabase"/>.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string ExistingServerVariable = "FORKLINE_TEST_POSTGRES";

    private LocalPostgres? _local;

    /// <summary>Why PostgreSQL tests cannot run on this machine, or null when they can.</summary>
    public static string? Unavailable => ExistingServer is not null
        ? null
        : LocalPostgres.Unavailable is { } problem ? $"{problem} (or set {ExistingServerVariable} to a server's connection string)" : null;

    private static string? ExistingServer =>
        Environment.GetEnvironmentVariable(ExistingServerVariable) is { Length: > 0 } server ? server : null;

    private string ConnectionString => ExistingServer ?? _local?.ConnectionString ?? "";

    public async Task InitializeAsync()
    {
        // Without a server every test of the collection is skipped; starting nothing is the right answer.
        if (ExistingServer is null && Unavailable is null) _local = await LocalPostgres.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_local is not null) await _local.DisposeAsync();
    }

    /// <summary>A fresh, empty database on this server for one test; dropped when the test disposes it.</summary>
    public TestDatabase NewDatabase() =>
        ConnectionString.Length > 0
            ? new TestDatabase(ConnectionString)
            : throw new InvalidOperationException($"the PostgreSQL test server did not start: {Unavailable ?? "see the collection fixture's error"}");
}
