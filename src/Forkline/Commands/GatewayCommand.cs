using System.CommandLine;
using System.Text.Json;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.HostTree;

namespace Forkline.Commands;

/// <summary>
/// `forkline gateway`: a gateway node of the fleet (host entities, history, queries) until Ctrl-C.
/// Named GatewayNodeCommand because Forkline.Client.GatewayCommand already names the options that the
/// client commands share.
/// </summary>
public static class GatewayNodeCommand
{
    /// <summary>The --config file: every field optional; command-line options win over it.</summary>
    public sealed record ConfigFile(
        string? Hostname = null, int? Port = null, string[]? Seeds = null, string? DataDirectory = null,
        string? DbProvider = null, string? ConnectionString = null, int? SnapshotEvery = null, bool? PersistHooks = null);

    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "JSON settings file (hostname, port, seeds, dataDirectory, dbProvider, connectionString, snapshotEvery, persistHooks)" };
        var hostname = new Option<string?>("--hostname") { Description = "Address other nodes reach this one at (default 127.0.0.1)" };
        var port = new Option<int?>("--port") { Description = $"Cluster port (default {GatewaySettings.DefaultPort}; 0 = any free port)" };
        var seeds = new Option<string[]>("--seed")
        {
            Description = "Seed node address akka.tcp://forkline@host:port (repeat; default: start a new cluster)",
            AllowMultipleArgumentsPerToken = true,
        };
        var data = new Option<string?>("--data") { Description = "Data folder for the SQLite database (default ./data)" };
        var provider = new Option<string?>("--db-provider") { Description = "sqlite (default) or postgresql" };
        var connection = new Option<string?>("--connection-string") { Description = "Database connection string (required for postgresql)" };
        var snapshotEvery = new Option<int?>("--snapshot-every") { Description = "Persisted events between snapshots of a host tree (default 5000)" };
        var persistHooks = new Option<bool?>("--persist-hooks") { Description = "Also persist hook events (default: only exec, exit and clone)" };

        var command = new Command("gateway", "Run a gateway node: per-host process trees, history and the query API")
        {
            config, hostname, port, seeds, data, provider, connection, snapshotEvery, persistHooks,
        };
        command.SetAction(async (parse, ct) =>
        {
            GatewaySettings settings;
            try
            {
                var file = parse.GetValue(config) is { } path ? ReadConfig(path) : new ConfigFile();
                settings = SettingsFrom(file with
                {
                    Hostname = parse.GetValue(hostname) ?? file.Hostname,
                    Port = parse.GetValue(port) ?? file.Port,
                    Seeds = parse.GetValue(seeds) is { Length: > 0 } given ? given : file.Seeds,
                    DataDirectory = parse.GetValue(data) ?? file.DataDirectory,
                    DbProvider = parse.GetValue(provider) ?? file.DbProvider,
                    ConnectionString = parse.GetValue(connection) ?? file.ConnectionString,
                    SnapshotEvery = parse.GetValue(snapshotEvery) ?? file.SnapshotEvery,
                    PersistHooks = parse.GetValue(persistHooks) ?? file.PersistHooks,
                });
                settings.Validate();
            }
            catch (Exception e) when (e is ArgumentException or IOException or JsonException)
            {
                await Console.Error.WriteLineAsync($"forkline gateway: {e.Message}");
                return 2;
            }
            return await RunAsync(settings, ct);
        });
        return command;
    }

    public static GatewaySettings SettingsFrom(ConfigFile file)
    {
        var defaults = new GatewaySettings();
        var dataDirectory = file.DataDirectory ?? defaults.DataDirectory;
        var provider = file.DbProvider is null ? DatabaseProvider.Sqlite : DatabaseSettings.ParseProvider(file.DbProvider);
        var database = (provider, file.ConnectionString) switch
        {
            (_, { } connectionString) => new DatabaseSettings(provider, connectionString),
            (DatabaseProvider.Sqlite, _) => DatabaseSettings.SqliteIn(dataDirectory),
            _ => throw new ArgumentException($"--db-provider {file.DbProvider} needs --connection-string (Host=...;Database=...;Username=...)"),
        };
        var hostTree = new HostTreeSettings();
        return defaults with
        {
            Collector = false,
            Hostname = file.Hostname ?? defaults.Hostname,
            Port = file.Port ?? defaults.Port,
            SeedNodes = file.Seeds ?? [],
            DataDirectory = dataDirectory,
            Database = database,
            HostTree = hostTree with
            {
                SnapshotEvery = file.SnapshotEvery ?? hostTree.SnapshotEvery,
                PersistHooks = file.PersistHooks ?? hostTree.PersistHooks,
            },
        };
    }

    private static ConfigFile ReadConfig(FileInfo path)
    {
        using var stream = path.OpenRead();
        return JsonSerializer.Deserialize<ConfigFile>(stream, new JsonSerializerOptions(JsonSerializerDefaults.Web) { AllowTrailingCommas = true, ReadCommentHandling = JsonCommentHandling.Skip })
               ?? throw new JsonException($"{path.FullName} holds no settings object");
    }

    private static async Task<int> RunAsync(GatewaySettings settings, CancellationToken ct)
    {
        await using var node = await GatewayNode.StartAsync(settings, ct);
        await Console.Error.WriteLineAsync($"forkline gateway: node {node.SeedAddress} ({settings.EffectiveDatabase.Describe()}); Ctrl-C stops it");
        // The query API server (gRPC + HTTP) starts here, on node.Queries, and runs until ct is cancelled.
        await WaitForStopAsync(ct);
        return 0;
    }

    private static async Task WaitForStopAsync(CancellationToken ct)
    {
        var stopped = new TaskCompletionSource();
        await using (ct.Register(() => stopped.TrySetResult()))
            await stopped.Task;
    }
}
