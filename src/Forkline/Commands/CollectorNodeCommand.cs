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
using Forkline.Metrics;
using Forkline.ProcessActors;
using Forkline.ProcessActors.Metrics;

namespace Forkline.Commands;

/// <summary>
/// `forkline collector-node`: the collector role of the fleet. This host's kernel events (or a
/// recorded capture, reported under another host name) go through the process actors to the
/// gateways of the cluster, batched and acknowledged; until Ctrl-C or SIGTERM.
/// </summary>
public static class CollectorNodeCommand
{
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
        command.SetAction(async (parse, ct) =>
        {
            CollectorNode node;
            try
            {
                node = CollectorNode.From(settings.Load(parse));
            }
            catch (Exception e) when (e is ConfigurationException or ArgumentException or Collector.Hooks.HookPolicyException)
            {
                await Console.Error.WriteLineAsync($"forkline collector-node: {e.Message}");
                return 2;
            }
            return await RunAsync(node, ct);
        });
        return command;
    }

    private sealed record CollectorNode(GatewaySettings Cluster, ProcessActorSettings Actors, IEventSource Source, IPEndPoint? Metrics)
    {
        public static CollectorNode From(NodeConfig config)
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
            var source = SourceOf(config.Collector);
            // This host's processes are checked against /proc; a replayed capture's are not this host's.
            if (source is BpfEventSource) actors = actors with { LivenessProbe = new ProcfsLiveness().StillRuns };
            actors.Validate();
            return new CollectorNode(cluster, actors, source, NodeConfiguration.EndpointOf("Metrics:Listen", config.Metrics.Listen));
        }

        private static TimeSpan? BatchWindowOf(CollectorSection collector) =>
            collector.BatchWindow is { } window && (window < TimeSpan.Zero || window > TimeSpan.FromSeconds(1))
                ? throw new ConfigurationException($"Collector:BatchWindow '{window}' is outside 00:00:00 to 00:00:01")
                : collector.BatchWindow;

        private static IEventSource SourceOf(CollectorSection collector)
        {
            var stderr = Console.Error;
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
                        Log = line => stderr.WriteLine(line),
                    });
                case "replay":
                    if (string.IsNullOrEmpty(collector.ReplayFile))
                        throw new ConfigurationException("Collector:Source replay needs Collector:ReplayFile (a capture written by `forkline collector --record FILE`)");
                    if (!Enum.TryParse<ReplayPacing>(collector.ReplayPacing ?? nameof(ReplayPacing.ByKtime), ignoreCase: true, out var pacing))
                        throw new ConfigurationException($"Collector:ReplayPacing '{collector.ReplayPacing}' is not ByKtime or AsFastAsPossible");
                    return new ReplayFileSource(collector.ReplayFile, pacing, report: line => stderr.WriteLine(line));
                default:
                    throw new ConfigurationException($"Collector:Source '{collector.Source}' is not bpf or replay");
            }
        }
    }

    private static async Task<int> RunAsync(CollectorNode settings, CancellationToken ct)
    {
        var stderr = Console.Error;
        LibBpfLog.Sink = (_, line) => stderr.WriteLine(line);
        var registry = Prometheus.Metrics.DefaultRegistry;
        var metrics = new ForklineMetrics(registry);
        if (settings.Source is BpfEventSource bpf) metrics.RefreshBeforeScrape(() => CollectorMetrics.Refresh(bpf.Collector, metrics));
        using var metricServer = settings.Metrics is { } endpoint ? metrics.StartServer(endpoint.Port, endpoint.Address.ToString()) : null;

        GatewayNode node;
        try
        {
            node = await GatewayNode.StartAsync(settings.Cluster with { MetricsRegistry = registry }, ct);
        }
        catch (InvalidOperationException e)
        {
            await stderr.WriteLineAsync($"forkline collector-node: {e.Message}");
            return 1;
        }
        await using var cluster = node;
        await stderr.WriteLineAsync(
            $"forkline collector-node: host {settings.Actors.NodeName} from {settings.Source.Name}, node {node.SeedAddress}, " +
            $"gateways via {string.Join(", ", settings.Cluster.Seeds)}{(settings.Metrics is { } m ? $", metrics http://{m}/metrics" : "")}; Ctrl-C stops it");

        await using var podWatch = (settings.Source as BpfEventSource)?.Options.Pods is { } pods
            ? new NodePods(pods, settings.Actors.NodeName, "forkline collector-node", stderr)
            : null;
        var pipeline = ProcessPipeline.Start(node.System, settings.Actors, metrics, new IEnrichedEventSink[] { node.Forwarder! });
        RunAccounting.Start(node.Forwarder!, settings.Actors.NodeName, settings.Source, pipeline);
        var exitCode = 0;
        var stopOrDowned = GatewayNodeCommand.WaitForStopOrDownedAsync(node, ct);
        using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(ct);
        StoredTreeReconciliation.Apply(settings.Source, node.Forwarder!, settings.Actors.NodeName, settings.Actors.BootClock, stderr, "collector-node");
        var sourceRun = settings.Source.RunAsync(pipeline, stopSource.Token);
        try
        {
            if (await Task.WhenAny(sourceRun, stopOrDowned) == stopOrDowned) await stopSource.CancelAsync();
            await sourceRun;
            // A replayed capture ends; the node stays a member so what it forwarded is acknowledged and the host's tree stays served.
            if (!stopOrDowned.IsCompleted) await stderr.WriteLineAsync($"forkline collector-node: {settings.Source.Name} ended; waiting for Ctrl-C");
            await stopOrDowned;
        }
        catch (Exception e) when (e is BpfException or IOException or InvalidDataException)
        {
            await stderr.WriteLineAsync($"forkline collector-node: {settings.Source.Name} failed: {e.Message}");
            exitCode = 1;
        }
        if (node.IsDowned)
        {
            // The process actors ran in the ended actor system: there is nothing left to stop or flush.
            await stderr.WriteLineAsync(GatewayNodeCommand.DownedMessage("collector-node", "events of this host are not collected until it runs again"));
            return 1;
        }
        await pipeline.StopAsync(StopTimeout);
        if (!await node.Forwarder!.FlushAsync(StopTimeout))
            await stderr.WriteLineAsync("forkline collector-node: the gateways did not acknowledge every event before the stop timeout; see forkline_forward_dropped_total");
        await RunAccounting.FinishAsync(node.Forwarder!, StopTimeout, stderr, "collector-node");
        return exitCode;
    }
}
