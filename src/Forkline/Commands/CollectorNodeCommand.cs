using System.CommandLine;
using System.Net;
using Forkline.Collecting;
using Forkline.Collector.Bpf;
using Forkline.Collector.Native;
using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Forkline.Configuration;
using Forkline.Gateway.Ingest;
using Forkline.Hosting;
using Forkline.Logging;
using Forkline.ProcessActors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Commands;

/// <summary>
/// `forkline collector-node`: a collector of the fleet, a client of the gateway cluster (not a
/// member). This host's kernel events (or a recorded capture, reported under another host name) go
/// through the process actors to any gateway, batched and acknowledged; until Ctrl-C or SIGTERM.
/// </summary>
public static class CollectorNodeCommand
{
    private const string LogCategory = "forkline.collector-node";

    public static Command Create()
    {
        var settings = new SettingOptions(NodeConfiguration.CollectorNodeDefaults)
            .AddList("--gateway", "Collector:Gateways", $"A gateway's ingest address host:port (default port {IngestSettings.DefaultPort}); repeat for each gateway")
            .Add("--node", "Node:Name", "Host name reported for this host's processes (default: the hostname)")
            .Add("--source", "Collector:Source", "bpf (this kernel, default) or replay (a capture file)")
            .Add("--replay-file", "Collector:ReplayFile", "Capture file for --source replay (written by `forkline collector --record`)")
            .Add("--hooks", "Collector:Hooks", "Hook policy file (default: hooks.json beside the binary)")
            .Add("--container-identity", "Collector:ContainerIdentity", "true (default): container id and pod of each process; false: none")
            .Add("--pod-annotations", "Collector:PodAnnotations", "true: pods carry their annotations too (Tetragon's --enable-pod-annotations); false (default): not read")
            .Add("--username-metadata", "Collector:UsernameMetadata", "disabled (default) or unix: processes in the host's namespaces carry their user's name from /etc/passwd (Tetragon's --username-metadata)")
            .Add("--metrics", "Metrics:Listen", "Serve /metrics on address:port (default: not served)");

        var command = new Command("collector-node", "Run a collector node: this host's process events, forwarded to the fleet's gateways");
        foreach (var option in settings.All) command.Options.Add(option);
        command.Options.Add(NodeLogging.FormatOption);
        command.SetAction(async (parse, ct) =>
        {
            using var loggers = NodeLogging.Create(parse);
            var log = loggers.CreateLogger(LogCategory);
            CollectorNodeOptions node;
            try
            {
                node = CollectorNodeOptions.From(settings.Load(parse), loggers);
            }
            // A certificate or token file unreadable is a setting to fix too (InvalidOperationException names the file).
            catch (Exception e) when (e is ConfigurationException or ArgumentException or InvalidOperationException or Collector.Hooks.HookPolicyException)
            {
                log.LogError("{Problem}", e.Message);
                return 2;
            }
            try
            {
                return await RunAsync(node, loggers, log, ct);
            }
            catch (InvalidOperationException e)
            {
                // A port taken, a certificate unreadable: one line, not a stack.
                log.LogError("{Problem}", e.Message);
                return 1;
            }
        });
        return command;
    }

    private sealed record CollectorNodeOptions(CollectorNodeSettings Link, ProcessActorSettings Actors, IEventSource Source, IPEndPoint? Metrics, bool PodAnnotations)
    {
        public static CollectorNodeOptions From(NodeOptions config, ILoggerFactory loggers)
        {
            var link = config.ToCollectorNodeSettings();
            link.Validate();
            var source = config.Collector.CreateSource(loggers);
            var actors = config.Collector.ProcessActors(config.Node.Name, loggers);
            // This host's processes are checked against /proc; a replayed capture's are not this host's.
            if (source is BpfEventSource) actors = actors with { LivenessProbe = new ProcfsLiveness().StillRuns };
            actors.Validate();
            return new CollectorNodeOptions(link, actors, source, config.Metrics.Listen, config.Collector.PodAnnotations);
        }
    }

    private static async Task<int> RunAsync(CollectorNodeOptions settings, ILoggerFactory loggers, ILogger log, CancellationToken ct)
    {
        LibBpfLog.Logger = loggers.CreateLogger(typeof(LibBpfLog));
        var collecting = new CollectingSettings(settings.Source, settings.Actors, (settings.Source as BpfEventSource)?.Options.Pods, settings.PodAnnotations);
        var builder = NodeHost.CreateBuilder(loggers);
        CollectorNode.AddCollectorLink(builder, settings.Link);
        builder.AddCollecting(collecting, services => services.GetRequiredService<CollectorNode>().Forwarder);
        if (settings.Metrics is { } listen) ListenPort.EnsureFree(listen.Address.ToString(), listen.Port, "metrics", "Metrics:Listen (--metrics)");

        using var host = await NodeHost.StartAsync(builder, ct);
        using var metricServer = settings.Metrics is { } endpoint
            ? host.Services.GetRequiredService<PrometheusExport>().StartServer(endpoint.Port, endpoint.Address.ToString())
            : null;
        log.LogInformation("host {Host} from {Source}, gateways {Gateways}{Metrics}; Ctrl-C stops it",
            settings.Actors.NodeName, settings.Source.Name, string.Join(", ", settings.Link.Link.Gateways),
            settings.Metrics is { } m ? $", metrics http://{m}/metrics" : "");
        await host.WaitForShutdownAsync(ct);
        return host.SourceFailed() ? 1 : 0;
    }
}
