using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Forkline.Gateway.CollectorLink;

/// <summary>Everything a collector node needs beside its event source.</summary>
/// <param name="MetricsRegistry">Null = prometheus-net's default registry.</param>
/// <param name="LogLevel">Akka's log level (DEBUG, INFO, WARNING, ERROR).</param>
public sealed record CollectorNodeSettings(
    GatewayLinkSettings Link,
    ForwarderSettings? Forwarder = null,
    CollectorRegistry? MetricsRegistry = null,
    string LogLevel = "WARNING")
{
    public ForwarderSettings EffectiveForwarder => Forwarder ?? new ForwarderSettings();

    public void Validate()
    {
        Link.Validate();
        EffectiveForwarder.Validate();
    }
}

/// <summary>
/// A collector node: a local actor system (no remoting, no cluster membership) for the process
/// actors and the forwarder, whose link streams to any gateway of the cluster.
/// </summary>
public sealed class CollectorNode : IAsyncDisposable
{
    private static readonly TimeSpan ShutdownFlushTimeout = TimeSpan.FromSeconds(3);

    private CollectorNode(ActorSystem system, GatewayMetrics metrics, GatewayForwarder forwarder)
    {
        System = system;
        Metrics = metrics;
        Forwarder = forwarder;
    }

    public ActorSystem System { get; }

    public GatewayMetrics Metrics { get; }

    /// <summary>Where the process actors deliver enriched events.</summary>
    public GatewayForwarder Forwarder { get; }

    /// <param name="loggerFactory">Where the node logs, Akka's own logging included; null = nowhere.</param>
    public static CollectorNode Start(CollectorNodeSettings settings, ILoggerFactory? loggerFactory = null)
    {
        settings.Validate();
        var metrics = new GatewayMetrics(settings.MetricsRegistry ?? Prometheus.Metrics.DefaultRegistry);
        var setup = BootstrapSetup.Create().WithConfig(ConfigurationFactory.ParseString(AkkaConfig.Local(settings.LogLevel)))
            .And(new LoggerFactorySetup(loggerFactory ?? NullLoggerFactory.Instance));
        var system = ActorSystem.Create("forkline-collector", setup);
        var forwarder = GatewayForwarder.Start(system, new ForwarderDelivery.OverGrpc(settings.Link), settings.EffectiveForwarder, metrics);
        return new CollectorNode(system, metrics, forwarder);
    }

    /// <summary>Gives the forwarder a moment to deliver what it holds, then stops; what it still holds is counted as dropped (reason "shutdown").</summary>
    public async ValueTask DisposeAsync()
    {
        await Forwarder.FlushAsync(ShutdownFlushTimeout);
        await System.Terminate();
    }
}
