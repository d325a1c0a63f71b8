using Microsoft.Extensions.Hosting;

namespace Forkline.Gateway.Api;

/// <summary>
/// The API runs inside a process that owns its own shutdown (`forkline run`, `forkline gateway`):
/// the default console lifetime would take over Ctrl-C and SIGTERM and stop the API on its own.
/// </summary>
public sealed class EmbeddedHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
