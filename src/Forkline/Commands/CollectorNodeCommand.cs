using System.CommandLine;
using System.Net;
using Forkline.Collecting;
using Forkline.Collector.Bpf;
using Forkline.Collector.Containers;
using Forkline.Collector.Native;
using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Forkline.Configuration;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Hosting;
using Forkline.Kubernetes;
using Forkline.Logging;
using Forkline.Metrics;
using Forkline.ProcessActors;
using Forkline.ProcessActors.Metrics;
using Microsoft.Extensions.Logging;

namespace Forkline.Commands;

/// <summary>
/// `forkline collector-node`: the collector role of the fleet. This host's kernel events (or a
/// recorded capture, reported under another host name) go through the process actors to the
/// gateways of the cluster, batched and acknowledged; until Ctrl-C or SIGTERM.
/// </summary>
public static class CollectorNodeCommand
{
    private const string LogCategory = "forkline.collector-node";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var settings = new SettingOptions().AddCluster()
            .Add("--node", "Node:Name", "Host name reported for this host's processes (default: the hostname)")
            .Add("--source", "Collector:Source", "bpf (this kernel, default) or replay (a capture file)")
            .Add("--replay-file", "Collector:ReplayFile", "Capture file for --source replay (written by `forkline collector --record`)")
            .Add("--hooks", "Collector:Hooks", "Hook policy file (default: hooks.json beside the binary)")
            .Add("--container-identity", "Collector:ContainerIdentity", "true (default): container id and pod of each process; false: none")
            .Add("--metrics", "Metrics:Listen", "Serve /metrics on address:port (default: not served)");

        var command = new Command("collector-node", "Run a collector node: this host's process events, forwarded to the fleet's gateways");
        foreach (var option in settings.All) command.Options.Add(option);
        command.Options.Add(NodeLogging.FormatOption);
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = NodeLogging.Create(parse);
            var log = loggers.CreateLogger(LogCategory);
            CollectorNode node;
            try
            {
                node = CollectorNode.From(settings.Load(parse), loggers);
            }
            catch (Exception e) when (e is ConfigurationException or ArgumentException or Collector.Hooks.HookPolicyException)
            {
                log.LogError("{Problem}", e.Message);
                return 2;
            }
            return await RunAsync(node, loggers, log, ct);
        });
        return command;
    }

    private sealed record CollectorNode(GatewaySettings Cluster, ProcessActorSettings Actors, IEventSource Source, IPEndPoint? Metrics)
    {
        public static CollectorNode From(NodeConfig config, ILoggerFactory loggers)
        {
            var cluster = config.ToNodeSettings(collector: true, gateway: false);
            cluster.Validate();
            var actors = new ProcessActorSettings();
            actors = actors with
            {
                NodeName = config.Node.Name ?? actors.NodeName,
                AncestorDepth = config.Collector.AncestorDepth ?? actors.AncestorDepth,
                // Forks that never exec'd (a subshell) go to the gateways unless turned off, as in `forkline run`:
                // a process such a fork starts names it as parent, and lineage would stop at a process never stored.
                EmitClones = config.Collector.EmitClones ?? true,
            };
            var source = SourceOf(config.Collector, loggers);
            // This host's processes are checked against /proc; a replayed capture's are not this host's.
            if (source is BpfEventSource) actors = actors with { LivenessProbe = new ProcfsLiveness().StillRuns };
            actors.Validate();
            return new CollectorNode(cluster, actors, source, NodeConfiguration.EndpointOf("Metrics:Listen", config.Metrics.Listen));
        }

        private static TimeSpan? BatchWindowOf(CollectorSection collector) =>
            collector.BatchWindow is { } window && (window < TimeSpan.Zero || window > TimeSpan.FromSeconds(1))
                ? throw new ConfigurationException($"Collector:BatchWindow '{window}' is outside 00:00:00 to 00:00:01")
                : collector.BatchWindow;

        private static IEventSource SourceOf(CollectorSection collector, ILoggerFactory loggers)
        {
            switch (collector.Source?.ToLowerInvariant() ?? "bpf")
            {
                case "bpf":
                    var options = new BpfCollectorOptions();
                    var containerIdentity = collector.ContainerIdentity ?? true;
                    return new BpfEventSource(options with
                    {
                        ContainerIdentity = containerIdentity,
                        Pods = containerIdentity ? new PodDirectory() : null,
                        ObjectPath = collector.BpfObject ?? options.ObjectPath,
                        Hooks = CollectorCommand.LoadPolicy(collector.Hooks),
                        RingSizeBytes = collector.RingSizeBytes ?? options.RingSizeBytes,
                        DrainInterval = BatchWindowOf(collector) ?? options.DrainInterval,
                        LoggerFactory = loggers,
                    });
                case "replay":
                    if (string.IsNullOrEmpty(collector.ReplayFile))
                        throw new ConfigurationException("Collector:Source replay needs Collector:ReplayFile (a capture written by `forkline collector --record FILE`)");
                    if (!Enum.TryParse<ReplayPacing>(collector.ReplayPacing ?? nameof(ReplayPacing.ByKtime), ignoreCase: true, out var pacing))
                        throw new ConfigurationException($"Collector:ReplayPacing '{collector.ReplayPacing}' is not ByKtime or AsFastAsPossible");
                    return new ReplayFileSource(collector.ReplayFile, pacing, logger: loggers.CreateLogger<ReplayFileSource>());
                default:
                    throw new ConfigurationException($"Collector:Source '{collector.Source}' is not bpf or replay");
            }
        }
    }

    private static async Task<int> RunAsync(CollectorNode settings, ILoggerFactory loggers, ILogger log, CancellationToken ct)
    {
        LibBpfLog.Logger = loggers.CreateLogger(typeof(LibBpfLog));
        var registry = Prometheus.Metrics.DefaultRegistry;
        var metrics = new ForklineMetrics(registry);
        if (settings.Source is BpfEventSource bpf) metrics.RefreshBeforeScrape(() => CollectorMetrics.Refresh(bpf.Collector, metrics));
        using var metricServer = settings.Metrics is { } endpoint ? metrics.StartServer(endpoint.Port, endpoint.Address.ToString()) : null;

        GatewayNode node;
        try
        {
            node = await GatewayNode.StartAsync(settings.Cluster with { MetricsRegistry = registry }, loggers, ct);
        }
        catch (InvalidOperationException e)
        {
            log.LogError("{Problem}", e.Message);
            return 1;
        }
        await using var cluster = node;
        log.LogInformation("host {Host} from {Source}, node {Node}, gateways via {Seeds}{Metrics}; Ctrl-C stops it",
            settings.Actors.NodeName, settings.Source.Name, node.SeedAddress, string.Join(", ", settings.Cluster.Seeds),
            settings.Metrics is { } m ? $", metrics http://{m}/metrics" : "");

        await using var podWatch = (settings.Source as BpfEventSource)?.Options.Pods is { } pods
            ? new NodePods(pods, settings.Actors.NodeName, loggers)
            : null;
        var pipeline = ProcessPipeline.Start(node.System, settings.Actors, metrics, new IEnrichedEventSink[] { node.Forwarder! });
        RunAccounting.Start(node.Forwarder!, settings.Actors.NodeName, settings.Source, pipeline);
        var exitCode = 0;
        var stopOrDowned = GatewayNodeCommand.WaitForStopOrDownedAsync(node, ct);
        using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(ct);
        StoredTreeReconciliation.Apply(settings.Source, node.Forwarder!, settings.Actors.NodeName, settings.Actors.BootClock, log);
        var sourceRun = settings.Source.RunAsync(pipeline, stopSource.Token);
        try
        {
            if (await Task.WhenAny(sourceRun, stopOrDowned) == stopOrDowned) await stopSource.CancelAsync();
            await sourceRun;
            // A replayed capture ends; the node stays a member so what it forwarded is acknowledged and the host's tree stays served.
            if (!stopOrDowned.IsCompleted) log.LogInformation("{Source} ended; waiting for Ctrl-C", settings.Source.Name);
            await stopOrDowned;
        }
        catch (Exception e) when (e is BpfException or IOException or InvalidDataException)
        {
            log.LogError("{Source} failed: {Problem}", settings.Source.Name, e.Message);
            exitCode = 1;
        }
        if (node.IsDowned)
        {
            // The process actors ran in the ended actor system: there is nothing left to stop or flush.
            log.LogError("{Problem}", GatewayNodeCommand.DownedMessage("events of this host are not collected until it runs again"));
            return 1;
        }
        await pipeline.StopAsync(StopTimeout);
        if (!await node.Forwarder!.FlushAsync(StopTimeout))
            log.LogWarning("the gateways did not acknowledge every event before the stop timeout; see forkline_forward_dropped_total");
        await RunAccounting.FinishAsync(node.Forwarder!, StopTimeout, log);
        return exitCode;
    }
}
