using System.CommandLine;
using Forkline.Configuration;
using Forkline.Gateway.Api;
using Forkline.Gateway.Hosting;

namespace Forkline.Commands;

/// <summary>
/// `forkline gateway`: a gateway node of the fleet (host entities, history, query API) until Ctrl-C
/// or SIGTERM. Named GatewayNodeCommand because Forkline.Client.GatewayCommand already names the
/// options that the client commands share.
/// </summary>
public static class GatewayNodeCommand
{
    public static Command Create()
    {
        var settings = new SettingOptions().AddCluster()
            .Add("--data", "DataDirectory", "Data folder; holds the SQLite database (default ./data)")
            .Add("--db-provider", "Database:Provider", "sqlite (default) or postgresql")
            .Add("--connection-string", "Database:ConnectionString", "Database connection string (required for postgresql)")
            .Add("--snapshot-every", "HostTree:SnapshotEvery", "Persisted events between snapshots of a host tree (default 5000)")
            .Add("--persist-hooks", "HostTree:PersistHooks", "Also persist hook events: true or false (default false)")
            .Add("--api-http", "Api:Http", $"HTTP/JSON API endpoint (default 127.0.0.1:{ApiSettings.DefaultHttpPort})")
            .Add("--api-grpc", "Api:Grpc", $"gRPC API endpoint (default 127.0.0.1:{ApiSettings.DefaultGrpcPort})");

        var command = new Command("gateway", "Run a gateway node: per-host process trees, history and the query API");
        foreach (var option in settings.All) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            GatewaySettings node;
            ApiSettings api;
            try
            {
                var config = settings.Load(parse);
                node = config.ToNodeSettings(collector: false, gateway: true);
                api = config.ToApiSettings();
                node.Validate();
            }
            catch (Exception e) when (e is ConfigurationException or ArgumentException or InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"forkline gateway: {e.Message}");
                return 2;
            }
            return await RunAsync(node, api, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(GatewaySettings settings, ApiSettings apiSettings, CancellationToken ct)
    {
        try
        {
            await using var node = await GatewayNode.StartAsync(settings, ct);
            await using var api = await ApiServer.StartAsync(node.Queries!, apiSettings, ct);
            await Console.Error.WriteLineAsync(
                $"forkline gateway: node {node.SeedAddress} ({settings.EffectiveDatabase.Describe()}); " +
                $"API {api.HttpAddress} (HTTP/JSON, /metrics) and {api.GrpcAddress} (gRPC); Ctrl-C stops it");
            await WaitForStopAsync(ct);
            return 0;
        }
        catch (InvalidOperationException e)
        {
            await Console.Error.WriteLineAsync($"forkline gateway: {e.Message}");
            return 1;
        }
    }

    public static async Task WaitForStopAsync(CancellationToken ct)
    {
        var stopped = new TaskCompletionSource();
        await using (ct.Register(() => stopped.TrySetResult()))
            await stopped.Task;
    }
}
