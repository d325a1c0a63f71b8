using Forkline.Gateway.Api;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Forkline.Hosting;

/// <summary>
/// A gateway's query API as a part of its node's host, registered after the gateway: it starts once
/// the gateway can answer, and stops (ending open streams) before the gateway does.
/// </summary>
public sealed class NodeApi : IHostedService
{
    private readonly ApiSettings _settings;
    private readonly GatewayNode _gateway;
    private ApiServer? _server;

    private NodeApi(ApiSettings settings, GatewayNode gateway)
    {
        _settings = settings;
        _gateway = gateway;
    }

    public ApiServer Server => _server ?? throw new InvalidOperationException("the API has not started");

    /// <summary>
    /// Ready means Up in the cluster: until then (and once downed) queries of live trees cannot be answered,
    /// so a load balancer, a Kubernetes probe or deploy/local/fleet must not count this gateway in yet;
    /// and a database that takes writes: otherwise collectors' events only pile up (<see cref="GatewayNode.IsReady"/>).
    /// </summary>
    public static HostApplicationBuilder AddNodeApi(HostApplicationBuilder builder, ApiSettings settings)
    {
        builder.Services.AddSingleton(services =>
        {
            var gateway = services.GetRequiredService<GatewayNode>();
            return new NodeApi(settings with
            {
                IsReady = () => gateway.IsReady,
                LoggerFactory = services.GetRequiredService<ILoggerFactory>(),
                Metrics = gateway.Metrics,
                WriteMetrics = gateway.MetricsExport.WriteAsync,
            }, gateway);
        });
        builder.Services.AddHostedService(services => services.GetRequiredService<NodeApi>());
        return builder;
    }

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _server = await ApiServer.StartAsync(_gateway.Queries, _settings, cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
