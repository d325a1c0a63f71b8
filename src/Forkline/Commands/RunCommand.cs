using System.CommandLine;
using Forkline.Collecting;
using Forkline.Collector.Bpf;
using Forkline.Collector.Hooks;
using Forkline.Collector.Native;
using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Snapshots;
using Forkline.Configuration;
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
        var settings = new SettingOptions()
            .Add("--node", "Node:Name", "Node (host) name in exec_ids and the gateway (default: the hostname)")
            .Add("--data", "DataDirectory", "Folder of the SQLite database (default ./data)")
            .Add("--api-http", "Api:Http", $"HTTP/JSON API endpoint (default 127.0.0.1:{ApiSettings.DefaultHttpPort})")
            .Add("--api-grpc", "Api:Grpc", $"gRPC API endpoint (default 127.0.0.1:{ApiSettings.DefaultGrpcPort})")
            .Add("--cluster-port", "Cluster:Port", $"Akka cluster port (default {ClusterSettings.DefaultPort}; 0 = any free)")
            .Add("--hooks", "Collector:Hooks", "Hook policy file (default: hooks.json beside the binary)")
            .Add("--ancestors", "Collector:AncestorDepth", "Ancestors attached to each event beyond the parent (default 0 = none)")
            .AddFlag("--pod-annotations", "Collector:PodAnnotations", "Pods carry their annotations too (Tetragon's --enable-pod-annotations)")
            .Add("--username-metadata", "Collector:UsernameMetadata",
                "disabled (default) or unix: processes in the host's namespaces carry their user's name from /etc/passwd (Tetragon's --username-metadata)");
        var json = new Option<bool>("--json") { Description = "Tetragon-shaped JSON lines instead of the compact view" };
        var clones = new Option<bool>("--clones") { Description = "Also export forks that have not exec'd (process_clone)" };
        var types = new Option<string[]>("--type") { Description = "Only these event types (exec, exit, clone, hook, or a hook name)", AllowMultipleArgumentsPerToken = true };
        var binary = new Option<string[]>("--binary") { Description = "Only processes whose binary matches this regex", AllowMultipleArgumentsPerToken = true };
        var pids = new Option<int[]>("--pid") { Description = "Only these pids", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output-file") { Description = "Write events to this size-rotated file instead of stdout" };
        var containers = new Option<string[]>("--container") { Description = "Only processes in these containers (id or id prefix)", AllowMultipleArgumentsPerToken = true };
        var pods = new Option<string[]>("--pod") { Description = "Only processes in the Kubernetes pods of these names (as the API server described them)", AllowMultipleArgumentsPerToken = true };
        var podNamespaces = new Option<string[]>("--namespace") { Description = "Only processes in pods of these Kubernetes namespaces", AllowMultipleArgumentsPerToken = true };

        var command = new Command("run", "Run the all-in-one node: collector, process actors and gateway (SQLite), printing live events")
        {
            json, clones, types, binary, pids, output, containers, pods, podNamespaces, NodeLogging.FormatOption,
        };
        foreach (var option in settings.All) command.Options.Add(option);
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = NodeLogging.Create(parse);
            var log = loggers.CreateLogger(LogCategory);
            RunOptions options;
            try
            {
                var config = settings.Load(parse);
                options = new RunOptions(
                    config.ToRunSettings(),
                    config.ToApiSettings(),
                    // ToRunSettings refused any source but this kernel's.
                    (BpfEventSource)config.Collector.CreateSource(loggers),
                    // This host's processes, so checked against /proc.
                    config.Collector.ProcessActors(config.Node.Name, loggers) with { LivenessProbe = new ProcfsLiveness().StillRuns },
                    config.Collector.PodAnnotations,
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
                options.Actors.Validate();
            }
            // A certificate unreadable (Api:Tls) is a setting to fix too (InvalidOperationException names the file).
            catch (Exception e) when (e is ConfigurationException or HookPolicyException or FormatException or ArgumentException or InvalidOperationException)
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
        GatewaySettings Gateway, ApiSettings Api, BpfEventSource Source, ProcessActorSettings Actors, bool PodAnnotations, ExportOptions Export);

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
        var failure = CollectorPreflight.FindProblem(options.Source.Options.ObjectPath);
        if (failure is not null)
        {
            log.LogError("{Problem}", failure);
            return 1;
        }

        await using var export = ExportSink.Create(options.Export, loggers.CreateLogger<ExportSink>());
        var collecting = new CollectingSettings(options.Source, options.Actors, options.Source.Options.Pods, options.PodAnnotations);
        var builder = NodeHost.CreateBuilder(loggers);
        GatewayNode.AddGateway(builder, options.Gateway);
        NodeApi.AddNodeApi(builder, options.Api);
        builder.AddCollecting(collecting, services => services.GetRequiredService<GatewayNode>().Forwarder!, export);

        using var host = await NodeHost.StartAsync(builder, ct);
        var api = host.Services.GetRequiredService<NodeApi>().Server;
        log.LogInformation(
            "node {Node}; history in {History}; API {HttpAddress} (HTTP/JSON, /metrics) and {GrpcAddress} (gRPC) — {Access}; Ctrl-C stops",
            options.Actors.NodeName, host.Services.GetRequiredService<GatewayNode>().Database.Describe(), api.HttpAddress, api.GrpcAddress,
            options.Api.AccessPolicy == ApiAccessPolicy.AllowAll
                ? $"open without authentication, bound to {options.Api.HttpEndpoint.Address} only"
                : "bearer tokens required (Api:ReadOnlyTokens, Api:AdminTokens)");
        await host.WaitForShutdownAsync(ct);
        return host.SourceFailed() ? 1 : 0;
    }
}
