using System.CommandLine;
using System.Net;
using Forkline.Collecting;
using Forkline.Collector.Bpf;
using Forkline.Collector.Containers;
using Forkline.Collector.Hooks;
using Forkline.Collector.Native;
using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.Gateway.Api;
using Forkline.Hosting;
using Forkline.Logging;
using Forkline.ProcessActors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Commands;

/// <summary>
/// `forkline run`: the all-in-one node. Kernel events of this host go through the process actors to
/// the console (compact or JSON lines) and to the gateway, which persists them in SQLite under ./data
/// and answers the query API on localhost.
/// </summary>
public static class RunCommand
{
    private const string LogCategory = "forkline.run";

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Tetragon-shaped JSON lines instead of the compact view" };
        var hooks = new Option<string?>("--hooks") { Description = "Hook policy file (default: hooks.json beside the binary)" };
        var node = new Option<string?>("--node") { Description = "Node (host) name in exec_ids and the gateway (default: the hostname)" };
        var data = new Option<string>("--data") { Description = "Folder of the SQLite database", DefaultValueFactory = _ => "./data" };
        var http = new Option<string>("--api-http") { Description = "HTTP/JSON API endpoint", DefaultValueFactory = _ => $"127.0.0.1:{ApiSettings.DefaultHttpPort}" };
        var grpc = new Option<string>("--api-grpc") { Description = "gRPC API endpoint", DefaultValueFactory = _ => $"127.0.0.1:{ApiSettings.DefaultGrpcPort}" };
        var clusterPort = new Option<int>("--cluster-port") { Description = "Akka cluster port (0 = any free)", DefaultValueFactory = _ => ClusterSettings.DefaultPort };
        var ancestors = new Option<int>("--ancestors") { Description = "Ancestors attached to each event beyond the parent (0 = none)", DefaultValueFactory = _ => 0 };
        var clones = new Option<bool>("--clones") { Description = "Also export forks that have not exec'd (process_clone)" };
        var types = new Option<string[]>("--type") { Description = "Only these event types (exec, exit, clone, hook, or a hook name)", AllowMultipleArgumentsPerToken = true };
        var binary = new Option<string[]>("--binary") { Description = "Only processes whose binary matches this regex", AllowMultipleArgumentsPerToken = true };
        var pids = new Option<int[]>("--pid") { Description = "Only these pids", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output-file") { Description = "Write events to this size-rotated file instead of stdout" };
        var containers = new Option<string[]>("--container") { Description = "Only processes in these containers (id or id prefix)", AllowMultipleArgumentsPerToken = true };
        var pods = new Option<string[]>("--pod") { Description = "Only processes in the Kubernetes pods of these names (as the API server described them)", AllowMultipleArgumentsPerToken = true };
        var podNamespaces = new Option<string[]>("--namespace") { Description = "Only processes in pods of these Kubernetes namespaces", AllowMultipleArgumentsPerToken = true };
        var podAnnotations = new Option<bool>("--pod-annotations") { Description = "Pods carry their annotations too (Tetragon's --enable-pod-annotations)" };
        var usernameMetadata = new Option<UsernameMetadata>("--username-metadata")
        {
            Description = "disabled (default) or unix: processes in the host's namespaces carry their user's name from /etc/passwd (Tetragon's --username-metadata)",
        };

        var command = new Command("run", "Run the all-in-one node: collector, process actors and gateway (SQLite), printing live events")
        {
            json, hooks, node, data, http, grpc, clusterPort, ancestors, clones, types, binary, pids, output, containers, pods, podNamespaces,
            podAnnotations, usernameMetadata, NodeLogging.FormatOption,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = NodeLogging.Create(parse);
            var log = loggers.CreateLogger(LogCategory);
            RunOptions options;
            try
            {
                options = new RunOptions(
                    CollectorCommand.LoadPolicy(parse.GetValue(hooks)),
                    parse.GetValue(node) ?? Dns.GetHostName(),
                    parse.GetValue(data)!,
                    IPEndPoint.Parse(parse.GetValue(http)!),
                    IPEndPoint.Parse(parse.GetValue(grpc)!),
                    parse.GetValue(clusterPort),
                    parse.GetValue(ancestors),
                    parse.GetValue(podAnnotations),
                    // The parser takes a number for an enum too; only the two names mean something.
                    Enum.IsDefined(parse.GetValue(usernameMetadata))
                        ? parse.GetValue(usernameMetadata)
                        : throw new ArgumentException("--username-metadata takes disabled or unix"),
                    new ExportOptions
                    {
                        Format = parse.GetValue(json) ? ExportFormat.Json : ExportFormat.Compact,
                        FilePath = parse.GetValue(output),
                        Filter = new EventFilterOptions
                        {
                            EventTypes = EventTypes(parse.GetValue(types), parse.GetValue(clones)),
                            BinaryRegex = parse.GetValue(binary) ?? [],
                            Pids = parse.GetValue(pids) ?? [],
                            Containers = parse.GetValue(containers) ?? [],
                            Pods = parse.GetValue(pods) ?? [],
                            PodNamespaces = parse.GetValue(podNamespaces) ?? [],
                        },
                    });
            }
            catch (Exception e) when (e is HookPolicyException or FormatException or ArgumentException)
            {
                log.LogError("{Problem}", e.Message);
                return 2;
            }
            try
            {
                return await RunAsync(options, loggers, log, ct);
            }
            catch (InvalidOperationException e)
            {
                // The node or its API could not start (a port taken, the database unusable): one line, not a stack.
                log.LogError("{Problem}", e.Message);
                return 1;
            }
        });
        return command;
    }

    private sealed record RunOptions(
        HookPolicy Hooks, string NodeName, string DataDirectory, IPEndPoint Http, IPEndPoint Grpc,
        int ClusterPort, int AncestorDepth, bool PodAnnotations, UsernameMetadata UsernameMetadata, ExportOptions Export);

    /// <summary>No types means exec, exit and hooks; --clones adds forks that have not exec'd.</summary>
    private static string[] EventTypes(string[]? types, bool clones) => (types, clones) switch
    {
        ({ Length: > 0 } given, true) => [.. given, "clone"],
        ({ Length: > 0 } given, false) => given,
        (_, true) => ["exec", "exit", "hook", "clone"],
        _ => [],
    };

    private static async Task<int> RunAsync(RunOptions options, ILoggerFactory loggers, ILogger log, CancellationToken ct)
    {
        LibBpfLog.Logger = loggers.CreateLogger(typeof(LibBpfLog));
        var failure = CollectorPreflight.FindProblem(CollectorPreflight.DefaultObjectPath);
        if (failure is not null)
        {
            log.LogError("{Problem}", failure);
            return 1;
        }

        await using var export = ExportSink.Create(options.Export, loggers.CreateLogger<ExportSink>());
        var pods = new PodDirectory();
        var gateway = new GatewaySettings
        {
            Cluster = new ClusterSettings { Port = options.ClusterPort },
            DataDirectory = options.DataDirectory,
        };
        var collecting = new CollectingSettings(
            new BpfEventSource(new BpfCollectorOptions { Hooks = options.Hooks, Pods = pods, LoggerFactory = loggers }),
            new ProcessActorSettings
            {
                NodeName = options.NodeName,
                AncestorDepth = options.AncestorDepth,
                // Forks that never exec'd always go to the gateway: a later exec names them as parent, and
                // lineage would stop at a process the history never stored. --clones only affects printing.
                EmitClones = true,
                LivenessProbe = new ProcfsLiveness().StillRuns,
                UserNames = CollectorSettings.UserNamesOf(options.UsernameMetadata, loggers),
            },
            pods,
            options.PodAnnotations);
        var builder = NodeHost.CreateBuilder(loggers);
        GatewayNode.AddGateway(builder, gateway);
        NodeApi.AddNodeApi(builder, new ApiSettings { HttpEndpoint = options.Http, GrpcEndpoint = options.Grpc });
        builder.AddCollecting(collecting, services => services.GetRequiredService<GatewayNode>().Forwarder!, export);

        using var host = await NodeHost.StartAsync(builder, ct);
        var api = host.Services.GetRequiredService<NodeApi>().Server;
        log.LogInformation(
            "node {Node}; history in {History}; API {HttpAddress} (HTTP/JSON, /metrics) and {GrpcAddress} (gRPC) — open without authentication, bound to {BoundAddress} only; Ctrl-C stops",
            options.NodeName, host.Services.GetRequiredService<GatewayNode>().Database.Describe(), api.HttpAddress, api.GrpcAddress, options.Http.Address);
        await host.WaitForShutdownAsync(ct);
        return host.SourceFailed() ? 1 : 0;
    }
}
