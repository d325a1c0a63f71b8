using System.Diagnostics;
using Npgsql;

namespace Forkline.Gateway.Tests.Support.PostgreSql;

/// <summary>
/// A throwaway PostgreSQL server: initdb into a fresh folder under /tmp, started with pg_ctl on a
/// free loopback port, stopped and removed by <see cref="DisposeAsync"/>. No system service is used.
/// PostgreSQL refuses to run as root, so as root the server runs as the <c>postgres</c> account
/// (created by the Debian package). Shared by the tests and the benchmarks.
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    private const string ServiceAccount = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private static readonly Lazy<(string? BinDirectory, string? Problem)> Binaries = new(FindBinaries);

    private readonly string _folder;
    private readonly string _binDirectory;

    private LocalPostgres(string folder, string binDirectory, string connectionString)
    {
        _folder = folder;
        _binDirectory = binDirectory;
        ConnectionString = connectionString;
    }

    /// <summary>Why no server can be started on this machine, or null when one can.</summary>
    public static string? Unavailable => Binaries.Value.Problem;

    /// <summary>A connection string to the server's maintenance database (for CREATE / DROP DATABASE).</summary>
    public string ConnectionString { get; }

    public static async Task<LocalPostgres> StartAsync()
    {
        if (Unavailable is { } problem) throw new InvalidOperationException("cannot start PostgreSQL: " + problem);
        var binDirectory = Binaries.Value.BinDirectory!;
        var folder = Path.Combine(Path.GetTempPath(), "forkline-pg-" + Guid.NewGuid().ToString("N")[..12]);
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(folder);
        if (RunsAsServiceAccount) await RunAsync("chown", ["-R", ServiceAccount + ":", folder]);

        var port = TestNodes.FreePort();
        await RunAsServerAsync(binDirectory, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        // fsync and friends off: a throwaway server's data is never needed after a crash.
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} " +
                      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
        var log = Path.Combine(folder, "server.log");
        try
        {
            await RunAsServerAsync(binDirectory, "pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start"]);
        }
        catch (InvalidOperationException e)
        {
            var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "(no server log)";
            throw new InvalidOperationException($"{e.Message}\nserver log {log}:\n{tail}", e);
        }
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "postgres", Database = "postgres",
        }.ToString();
        return new LocalPostgres(folder, binDirectory, connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await RunAsServerAsync(_binDirectory, "pg_ctl", ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop"]);
        Directory.Delete(_folder, recursive: true);
    }

    private static bool RunsAsServiceAccount => Environment.UserName == "root";

    private static Task RunAsServerAsync(string binDirectory, string tool, IReadOnlyList<string> arguments)
    {
        var binary = Path.Combine(binDirectory, tool);
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
            return (null, $"no PostgreSQL server binaries (initdb, pg_ctl) under {root}: apt-get install postgresql");
        if (RunsAsServiceAccount && !File.ReadLines("/etc/passwd").Any(line => line.StartsWith(ServiceAccount + ":", StringComparison.Ordinal)))
            return (null, $"running as root and there is no '{ServiceAccount}' account to run the server as (the postgresql package creates it)");
        return (newest, null);
    }
}
