using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Api;

/// <summary>
/// Lets the API's web host log into the node's logger factory (owned by the node, not disposed here),
/// so its lines go where and how every other line of the node goes.
/// </summary>
public sealed class ForwardingLoggerProvider(ILoggerFactory nodeLoggers) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => nodeLoggers.CreateLogger(categoryName);

    public void Dispose()
    {
    }
}
