using System.Text.Json;
using Forkline.Contracts.Identity;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Kubernetes;

/// <summary>
/// Keeps the pods of one Kubernetes node known: lists them through the API server (field selector
/// spec.nodeName), then follows the list's watch from its resourceVersion, and publishes every pod
/// (<see cref="PodObjects.Read"/>) after each change. A watch the server ends is resumed from the last
/// version seen; one whose version expired (410 Gone) starts over with a list. While the API server
/// cannot be reached the last listing stays published; one line says so, one line when it is back.
/// </summary>
/// <param name="annotations">Read each pod's annotations too (<c>Collector:PodAnnotations</c>).</param>
public sealed class PodWatcher(HttpClient api, string nodeName, bool annotations, Action<IReadOnlyCollection<KubernetesPod>> publish, ILogger log, TimeSpan? retryDelay = null)
{
    /// <summary>The server ends a watch after this long at most; it is resumed at once.</summary>
    private const int WatchSeconds = 300;

    private readonly TimeSpan _retryDelay = retryDelay ?? TimeSpan.FromSeconds(5);
    private readonly Dictionary<string, List<KubernetesPod>> _byUid = [];
    private readonly string _pods = $"api/v1/pods?fieldSelector={Uri.EscapeDataString("spec.nodeName=" + nodeName)}";

    /// <summary>
    /// Watches this node's pods in the background when the node runs in Kubernetes (with the pod's
    /// service account); elsewhere says in one line that pods are not described, and returns null.
    /// </summary>
    public static Task? StartInCluster(string nodeName, bool annotations, Action<IReadOnlyCollection<KubernetesPod>> publish, ILogger log, CancellationToken ct)
    {
        if (!KubernetesApi.InCluster)
        {
            log.LogInformation("not running in Kubernetes (KUBERNETES_SERVICE_HOST is not set): containerized processes carry their container id and pod UID, no pod name, namespace, labels or image");
            return null;
        }
        return Task.Run(async () =>
        {
            using var client = KubernetesApi.CreateClient(TimeSpan.FromSeconds(10));
            await new PodWatcher(client, nodeName, annotations, publish, log).RunAsync(ct);
        }, CancellationToken.None);
    }

    /// <summary>Lists and watches until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var failing = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var version = await ListAsync(ct);
                if (failing) log.LogInformation("the Kubernetes API at {Api} answers again: pods of node {Node} are described again", api.BaseAddress, nodeName);
                failing = false;
                while (version is not null) version = await WatchAsync(version, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or KeyNotFoundException or InvalidOperationException or TaskCanceledException)
            {
                if (!failing)
                    log.LogWarning("listing or watching the pods of node {Node} at {Api} failed ({Problem}); processes keep the pods known so far, retrying every {RetrySeconds:0.#} s", nodeName, api.BaseAddress, e.Message, _retryDelay.TotalSeconds);
                failing = true;
                try
                {
                    await Task.Delay(_retryDelay, ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken ct)
    {
        using var response = await api.GetAsync(_pods, ct);
        EnsureAnswered(response);
        using var list = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
        _byUid.Clear();
        foreach (var pod in list.RootElement.GetProperty("items").EnumerateArray())
            if (PodObjects.UidOf(pod) is { } uid) _byUid[uid] = PodObjects.Read(pod, annotations);
        Publish();
        return list.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString()
               ?? throw new JsonException("the pod list has no metadata.resourceVersion to watch from");
    }

    /// <summary>Follows the watch from <paramref name="version"/>; the version to resume from when the server ends it, null when a new list is needed.</summary>
    private async Task<string?> WatchAsync(string version, CancellationToken ct)
    {
        var path = $"{_pods}&watch=true&allowWatchBookmarks=true&timeoutSeconds={WatchSeconds}&resourceVersion={Uri.EscapeDataString(version)}";
        using var response = await api.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
        EnsureAnswered(response);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await lines.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0) continue;
            using var change = JsonDocument.Parse(line);
            var type = change.RootElement.GetProperty("type").GetString();
            var subject = change.RootElement.GetProperty("object");
            if (type == "ERROR")
            {
                // 410 Gone: the version is older than the server keeps; anything else is a failure.
                if (subject.TryGetProperty("code", out var code) && code.GetInt32() == 410) return null;
                throw new InvalidOperationException($"the pod watch ended with an error: {subject.GetRawText()}");
            }
            version = subject.GetProperty("metadata").GetProperty("resourceVersion").GetString() ?? version;
            if (type == "BOOKMARK" || PodObjects.UidOf(subject) is not { } uid) continue;
            if (type == "DELETED") _byUid.Remove(uid);
            else _byUid[uid] = PodObjects.Read(subject, annotations);
            Publish();
        }
        return version;
    }

    private void Publish()
    {
        var all = new List<KubernetesPod>();
        foreach (var described in _byUid.Values) all.AddRange(described);
        publish(all);
    }

    private void EnsureAnswered(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException(
                $"{api.BaseAddress}{_pods} answered {(int)response.StatusCode}: give the service account list/watch on pods of every namespace (deploy/kubernetes/rbac.yaml)");
    }
}
