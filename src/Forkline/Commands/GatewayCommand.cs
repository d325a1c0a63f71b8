using System.CommandLine;
using Forkline.Configuration;
using Forkline.Gateway.Api;
using Forkline.Gateway.Ingest;
using Forkline.Hosting;
using Forkline.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Commands;

/// <summary>
/// `forkline gateway`: a gateway node of the fleet (host entities, history, query API) until Ctrl-C
/// or SIGTERM. Named GatewayNodeCommand because Forkline.Client.GatewayCommand already names the
/// options that the client commands share.
/// </summary>
public static class GatewayNodeCommand
{
    private const string LogCategory = "forkline.gateway";

    public static Command Create()
    {
        var settings = new SettingOptions().AddCluster()
            .Add("--data", "DataDirectory", "Data folder; holds the SQLite database (default ./data)")
            .Add("--db-provider", "Database:Provider", "sqlite (default) or postgresql")
            .Add("--connection-string", "Database:ConnectionString", "Database connection string (required for postgresql)")
            .Add("--snapshot-every", "HostTree:SnapshotEvery", "Persisted events between snapshots of a host tree (default 5000)")
            .Add("--persist-hooks", "HostTree:PersistHooks", "Also persist hook events: true or false (default false)")
            .Add("--api-http", "Api:Http", $"HTTP/JSON API endpoint (default 127.0.0.1:{ApiSettings.DefaultHttpPort})")
            .Add("--api-grpc", "Api:Grpc", $"gRPC API endpoint (default 127.0.0.1:{ApiSettings.DefaultGrpcPort})")
            .Add("--ingest", "Ingest:Listen", $"Where collectors stream to this gateway, address:port (default 127.0.0.1:{IngestSettings.DefaultPort})");

        var command = new Command("gateway", "Run a gateway node: per-host process trees, history and the query API");
        foreach (var option in settings.All) command.Options.Add(option);
        command.Options.Add(NodeLogging.FormatOption);
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = NodeLogging.Create(parse);
            var log = loggers.CreateLogger(LogCategory);
            GatewaySettings node;
            ApiSettings api;
            try
            {
                var config = settings.Load(parse);
                node = config.ToGatewaySettings();
                api = config.ToApiSettings();
            }
            catch (Exception e) when (e is ConfigurationException or ArgumentException or InvalidOperationException)
            {
                log.LogError("{Problem}", e.Message);
                return 2;
            }
            return await RunAsync(node, api, loggers, log, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(GatewaySettings settings, ApiSettings apiSettings, ILoggerFactory loggers, ILogger log, CancellationToken ct)
    {
        IHost host;
        try
        {
            var builder = NodeHost.CreateBuilder(loggers);
            GatewayNode.AddGateway(builder, settings);
            NodeApi.AddNodeApi(builder, apiSettings);
            host = await NodeHost.StartAsync(builder, ct);
        }
        catch (InvalidOperationException e)
        {
            // A port taken, the database unusable: one line, not a stack.
            log.LogError("{Problem}", e.Message);
            return 1;
        }
        using (host)
        {
            var node = host.Services.GetRequiredService<GatewayNode>();
            var api = host.Services.GetRequiredService<NodeApi>().Server;
            log.LogInformation("node {Node} ({History}); collectors stream to {Ingest}; API {HttpAddress} (HTTP/JSON, /metrics) and {GrpcAddress} (gRPC); Ctrl-C stops it",
                node.SeedAddress, node.Database.Describe(), node.Ingest!.Address, api.HttpAddress, api.GrpcAddress);
            // Ends on Ctrl-C / SIGTERM, or when the cluster has downed this node (its split-brain resolver, after
            // the node was unreachable too long): its actor system then ends on its own, and stops the host.
            await host.WaitForShutdownAsync(ct);
            if (!node.IsDowned) return 0;
            log.LogError("{Problem}", DownedMessage("the other gateways serve its hosts meanwhile"));
            return 1;
        }
    }

    /// <summary>
    /// Why a downed node exits non-zero: an Akka.NET actor system cannot rejoin the cluster that downed it,
    /// so a process left running would do nothing while looking alive; the service manager (systemd
    /// Restart=on-failure, Kubernetes) starts a fresh node instead.
    /// </summary>
    public static string DownedMessage(string consequence) =>
        $"the cluster downed this node (see the warnings above) and it cannot rejoin; exiting with code 1 " +
        $"so that the service manager starts it again — {consequence}";
}
