using Akka.Hosting;
using Forkline.Gateway.Api;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Forkline.Hosting;

/// <summary>
/// The one way a Forkline node is put together: a Generic Host whose actor system comes from
/// Akka.Hosting's <c>AddAkka</c>, and whose parts are hosted services.
/// <para>
/// Start order is registration order, and stop order its reverse (services stop one after the other):
/// the actor system (for a gateway: its storage first, then remoting, the cluster, persistence, the
/// shard region and the history singleton), then the gateway or the collector link, then the query
/// API, then the process actors, then the event source. So a stop ends the event source first, lets
/// the process actors drain into the forwarder, flushes the forwarder, ends the collectors' streams,
/// and only then leaves the cluster and stops the actor system.
/// </para>
/// The host does not listen to signals itself: the command's cancellation (Ctrl-C, SIGTERM) stops it,
/// and so does the cluster downing the node (Akka.Hosting stops the host when the actor system ends).
/// </summary>
public static class NodeHost
{
    /// <summary>Room for the process actors' drain and the forwarder's flush, each bounded by its own timeout.</summary>
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(90);

    /// <param name="loggers">Where the node logs, Akka's own logging included; null = nowhere.</param>
    public static HostApplicationBuilder CreateBuilder(ILoggerFactory? loggers)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(NodeStartFailure.Quieted(loggers ?? NullLoggerFactory.Instance));
        builder.Services.AddSingleton(services => new AkkaStartErrors(services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton<IHostLifetime, EmbeddedHostLifetime>();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddHostedService<MemoryGiveBack>();
        return builder;
    }

    /// <summary>The node's actor system: <see cref="AkkaComposition.WithForklineDefaults"/> and what <paramref name="configure"/> adds.</summary>
    public static HostApplicationBuilder AddActorSystem(this HostApplicationBuilder builder, string systemName, string logLevel,
        Action<AkkaConfigurationBuilder, IServiceProvider>? configure = null)
    {
        builder.Services.AddAkka(systemName, (akka, services) =>
        {
            akka.WithForklineDefaults(logLevel, services.GetRequiredService<AkkaStartErrors>());
            configure?.Invoke(akka, services);
        });
        return builder;
    }

    /// <summary>
    /// Builds and starts the host of what <paramref name="builder"/> holds; a failure to start leaves nothing running
    /// and is an <see cref="InvalidOperationException"/> saying what failed in one line (<see cref="NodeStartFailure.Of"/>).
    /// </summary>
    public static async Task<IHost> StartAsync(HostApplicationBuilder builder, CancellationToken ct)
    {
        var host = builder.Build();
        var akkaErrors = host.Services.GetRequiredService<AkkaStartErrors>();
        try
        {
            await host.StartAsync(ct);
            akkaErrors.Release();
            return host;
        }
        catch (Exception e)
        {
            if (e is OperationCanceledException) akkaErrors.Release();
            else akkaErrors.Drop();
            await host.StopAsync(CancellationToken.None);
            host.Dispose();
            if (e is OperationCanceledException) throw;
            throw NodeStartFailure.Of(e);
        }
    }
}
