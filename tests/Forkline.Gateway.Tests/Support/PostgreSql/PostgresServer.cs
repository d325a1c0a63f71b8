using System.Diagnostics;
using Npgsql;

namespace Forkline.Gateway.Tests.Support.PostgreSql;

/// <summary>
/// A throwaway PostgreSQL server for the tests of the <see cref="PostgreSqlCollection"/>: initdb into a
/// fresh folder under /tmp, started with pg_ctl on a free loopback port, stopped and removed at the
/// end. No system service is used. PostgreSQL refuses to run as root, so as root the server runs as
/// the <c>postgres</c> account (created by the Debian package). FORKLINE_TEST_POSTGRES (a server
/// connection string) points the tests at an existing server instead.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string ExistingServerVariable = "FORKLINE_TEST_POSTGRES";
    private const string ServiceAccount = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private static readonly Lazy<(string? BinDirectory, string? Problem)> Binaries = new(FindBinaries);

    private string? _folder;
    private string? _binDirectory;

    /// <summary>Why PostgreSQL tests cannot run on this machine, or null when they can.</summary>
    public static string? Unavailable => ExistingServer is not null ? null : Binaries.Value.Problem;

    /// <summary>A connection string to the server's maintenance database (for CREATE / DROP DATABASE).</summary>
    public string ConnectionString { get; private set; } = "";

    private static string? ExistingServer =>
        Environment.GetEnvironmentVariable(ExistingServerVariable) is { Length: > 0 } server ? server : null;

    public async Task InitializeAsync()
    {
        if (ExistingServer is { } existing)
        {
            ConnectionString = existing;
            return;
        }
        // Every test of the collection is skipped then; starting nothing is the right answer.
        if (Unavailable is not null) return;

        _binDirectory = Binaries.Value.BinDirectory!;
        _folder = Path.Combine(Path.GetTempPath(), "forkline-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var data = Path.Combine(_folder, "data");
        Directory.CreateDirectory(_folder);
        if (RunsAsServiceAccount) await RunAsync("chown", ["-R", ServiceAccount + ":", _folder]);

        var port = TestNodes.FreePort();
        await RunAsServerAsync("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        // fsync and friends off: a test server's data is thrown away, durability would only cost time.
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={_folder} " +
                      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
        var log = Path.Combine(_folder, "server.log");
        try
        {
            await RunAsServerAsync("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"]);
        }
        catch (InvalidOperationException e)
        {
            var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "(no server log)";
            throw new InvalidOperationException($"{e.Message}\nserver log {log}:\n{tail}", e);
        }
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "postgres", Database = "postgres",
        }.ToString();
    }

    public async Task DisposeAsync()
    {
        if (_folder is null) return;
        NpgsqlConnection.ClearAllPools();
        await RunAsServerAsync("pg_ctl", ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"]);
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>A fresh, empty database on this server for one test; dropped when the test disposes it.</summary>
    public TestDatabase NewDatabase() =>
        ConnectionString.Length > 0
            ? new TestDatabase(ConnectionString)
            : throw new InvalidOperationException($"the PostgreSQL test server did not start: {Unavailable ?? "see the collection fixture's error"}");

    private static bool RunsAsServiceAccount => Environment.UserName == "root";

    private Task RunAsServerAsync(string tool, IReadOnlyList<string> arguments)
    {
        var binary = Path.Combine(_binDirectory!, tool);
        return RunsAsServiceAccount
            ? RunAsync("runuser", ["-u", ServiceAccount, "--", binary, .. arguments])
            : RunAsync(binary, arguments);
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // The server's own working directory must be readable by the postgres account.
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        using var timeout = new CancellationTokenSource(CommandTimeout);
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {(await errors).Trim()} {(await output).Trim()}");
    }

    private static (string? BinDirectory, string? Problem) FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        var newest = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        if (newest is null)
            return (null, $"no PostgreSQL server binaries (initdb, pg_ctl) under {root}: apt-get install postgresql, or set {ExistingServerVariable} to a server's connection string");
        if (RunsAsServiceAccount && !AccountExists(ServiceAccount))
            return (null, $"running as root and there is no '{ServiceAccount}' account to run the server as (the postgresql package creates it)");
        return (newest, null);
    }

    private static bool AccountExists(string account) =>
        File.ReadLines("/etc/passwd").Any(line => line.StartsWith(account + ":", StringComparison.Ordinal));
}
