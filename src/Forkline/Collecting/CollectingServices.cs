using Akka.Actor;
using Forkline.Collector.Bpf;
using Forkline.Collector.Containers;
using Forkline.Collector.Sources;
using Forkline.Contracts.Snapshots;
using Forkline.Forwarding;
using Forkline.Hosting;
using Forkline.Kubernetes;
using Forkline.Metrics;
using Forkline.ProcessActors;
using Forkline.ProcessActors.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Collecting;

/// <summary>
/// What a node collects with: its event source, the process actors it feeds, and this host's pods (null: none looked up),
/// with their annotations when <paramref name="PodAnnotations"/>.
/// </summary>
public sealed record CollectingSettings(IEventSource Source, ProcessActorSettings Actors, PodDirectory? Pods = null, bool PodAnnotations = false);

/// <summary>
/// The collecting side of a node (<c>run</c>, <c>collector-node</c>) as two hosted services, registered
/// after the part that carries their events on (the gateway, or the collector's link to the gateways):
/// the process actors start, then the event source; a stop ends the event source first, then drains
/// the process actors into the forwarder, flushes it and sends the run's final loss report, each stage
/// within <see cref="StopTimeout"/>. See <see cref="NodeHost"/> for the order of the whole node.
/// Their metrics are on the meters of the node's <see cref="PrometheusExport"/>, which the part registered before brings.
/// </summary>
public static class CollectingServices
{
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    /// <param name="forwarderOf">The forwarder of the part registered before (it exists once that part started).</param>
    /// <param name="localSinks">Where enriched events go beside the forwarder (the console, a file).</param>
    public static HostApplicationBuilder AddCollecting(this HostApplicationBuilder builder, CollectingSettings settings,
        Func<IServiceProvider, GatewayForwarder> forwarderOf, params IEnrichedEventSink[] localSinks)
    {
        builder.Services.AddSingleton(services => new ProcessActorsService(settings, localSinks, () => forwarderOf(services), services));
        builder.Services.AddHostedService(services => services.GetRequiredService<ProcessActorsService>());
        builder.Services.AddSingleton(services => new EventSourceService(settings, services.GetRequiredService<ProcessActorsService>(),
            () => forwarderOf(services), services.GetRequiredService<IHostApplicationLifetime>(), services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService(services => services.GetRequiredService<EventSourceService>());
        return builder;
    }

    /// <summary>The event source stopped on a failure (a BPF load error, an unreadable capture), logged when it happened.</summary>
    public static bool SourceFailed(this IHost host) => host.Services.GetRequiredService<EventSourceService>().Failed;
}

/// <summary>The process actors, fed by the event source, delivering to the local sinks and the forwarder.</summary>
internal sealed class ProcessActorsService(
    CollectingSettings settings, IEnrichedEventSink[] localSinks, Func<GatewayForwarder> forwarderOf, IServiceProvider services) : IHostedService
{
    private readonly ILogger _log = services.GetRequiredService<ILoggerFactory>().CreateLogger<ProcessActorsService>();
    private ProcessPipeline? _pipeline;
    private GatewayForwarder? _forwarder;

    public ProcessPipeline Pipeline => _pipeline ?? throw new InvalidOperationException("the process actors have not started");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _forwarder = forwarderOf();
        var meters = services.GetRequiredService<PrometheusExport>().Meters;
        CollectorMetrics.Observe(meters, settings.Source);
        _pipeline = ProcessPipeline.Start(services.GetRequiredService<ActorSystem>(), settings.Actors, new ProcessActorMetrics(meters), [.. localSinks, _forwarder]);
        RunAccounting.Start(_forwarder, settings.Actors.NodeName, settings.Source, _pipeline);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_pipeline is null || _forwarder is null) return;
        await _pipeline.StopAsync(CollectingServices.StopTimeout);
        if (!await _forwarder.FlushAsync(CollectingServices.StopTimeout))
            _log.LogWarning("the gateways did not acknowledge every event before the stop timeout; see forkline_forward_dropped_total");
        await RunAccounting.FinishAsync(_forwarder, CollectingServices.StopTimeout, _log);
    }
}

/// <summary>
/// The event source, reading on its own until the node stops. A live source ends only then; a replayed
/// capture ends on its own, and the node keeps running so that what it forwarded is acknowledged.
/// A source that fails stops the node.
/// </summary>
internal sealed class EventSourceService(
    CollectingSettings settings, ProcessActorsService actors, Func<GatewayForwarder> forwarderOf, IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : IHostedService
{
    private readonly ILogger _log = loggers.CreateLogger<EventSourceService>();
    private readonly CancellationTokenSource _stop = new();
    private NodePods? _pods;
    private Task? _reading;

    public bool Failed { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Pods is { } pods) _pods = new NodePods(pods, settings.Actors.NodeName, settings.PodAnnotations, loggers);
        StoredTreeReconciliation.Apply(settings.Source, forwarderOf(), settings.Actors.NodeName, settings.Actors.BootClock, _log);
        // The source reads on a thread of its own: the host's start does not wait for its first record.
        _reading = Task.Run(ReadAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task ReadAsync()
    {
        try
        {
            await settings.Source.RunAsync(actors.Pipeline, _stop.Token);
            if (!_stop.IsCancellationRequested) _log.LogInformation("{Source} ended; waiting for Ctrl-C", settings.Source.Name);
        }
        catch (Exception e) when (e is BpfException or IOException or InvalidDataException)
        {
            _log.LogError("{Source} failed: {Problem}", settings.Source.Name, e.Message);
            Failed = true;
            lifetime.StopApplication();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        if (_reading is not null) await _reading;
        if (_pods is not null) await _pods.DisposeAsync();
        _stop.Dispose();
    }
}
