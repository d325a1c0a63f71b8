using Microsoft.Extensions.Hosting;

namespace Forkline.Gateway.Api;

/// <summary>
/// Ends open event streams when the server stops: a stream only ends when its caller cancels,
/// so without this every stop would wait out the shutdown timeout.
/// </summary>
public sealed class ApiShutdown(IHostApplicationLifetime lifetime)
{
    public bool IsStopping => lifetime.ApplicationStopping.IsCancellationRequested;

    public CancellationTokenSource LinkedTo(CancellationToken request) =>
        CancellationTokenSource.CreateLinkedTokenSource(request, lifetime.ApplicationStopping);
}
