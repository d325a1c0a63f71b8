using Forkline.Collector.Containers;
using Forkline.Gateway.Kubernetes;
using Microsoft.Extensions.Logging;

namespace Forkline.Kubernetes;

/// <summary>
/// Fills the collector's <see cref="PodDirectory"/> with this node's pods: watched through the
/// Kubernetes API server when the node runs in a Kubernetes pod, else left empty (one line says so).
/// Disposing stops the watch.
/// </summary>
/// <param name="annotations">Read the pods' annotations too (<c>Collector:PodAnnotations</c>, <c>run --pod-annotations</c>).</param>
internal sealed class NodePods : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _watch;

    public NodePods(PodDirectory directory, string nodeName, bool annotations, ILoggerFactory loggers)
    {
        _watch = PodWatcher.StartInCluster(nodeName, annotations, directory.Publish, loggers.CreateLogger<PodWatcher>(), _stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_watch is not null) await _watch;
        _stop.Dispose();
    }
}
