using Forkline.Contracts.Identity;
using Forkline.Gateway.Kubernetes;
using Forkline.Gateway.Tests.Support;
using Forkline.Testing;

namespace Forkline.Gateway.Tests.Kubernetes;

public sealed class PodWatcherTests
{
    private const string WebPodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
    private const string WebContainer = "containerd://3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";
    private const string ShipperContainer = "containerd://bb2d0b8f6c3e5d7f9b1c2e4f6a8d0b2c4e6f8a0d2b4c6e8a0f2d4b6c8e0a2f4b";
    private const string DebugContainer = "containerd://aa1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";

    private readonly Lock _lock = new();
    private readonly List<IReadOnlyCollection<KubernetesPod>> _published = [];
    private readonly CapturingLogger _log = new();

    [Fact]
    public async Task The_node_s_pods_are_listed_then_followed_through_the_watch_and_listed_again_when_the_watch_expired()
    {
        await using var api = await FakeKubernetesApi.StartAsync(
            lists: [new(200, "pods-node-a.json")],
            watches: [new(200, "watch-node-a.jsonl"), new(200, "watch-expired.jsonl")]);
        using var stop = new CancellationTokenSource();
        var run = RunAsync(api, stop.Token);

        await TestNodes.EventuallyAsync(() => Task.FromResult(Published().Count >= 5), "list, three changes from the watch, list again after 410 Gone");
        await stop.CancelAsync();
        await run;

        var listed = Published()[0];
        Assert.Equal(
            [("default", "debug", null), ("shop", "web-7d9c5b6f4d-x2k8p", null), ("default", "debug", DebugContainer), ("shop", "web-7d9c5b6f4d-x2k8p", WebContainer)],
            Described(listed));
        var web = listed.Single(pod => pod.Container?.RuntimeId == WebContainer);
        Assert.Equal((WebPodUid, "web", "Deployment"), (web.Uid, web.Workload, web.WorkloadKind));
        Assert.Equal([("app", "web"), ("pod-template-hash", "7d9c5b6f4d"), ("tier", "frontend")], web.Labels.Select(l => (l.Key, l.Value)));
        Assert.Equal(new KubernetesContainer(WebContainer, "web", "docker.io/library/nginx:1.27",
            "docker.io/library/nginx@sha256:6c5b2f1a9e7d4c3b8a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3",
            StartedAt: new DateTime(2026, 12, 2, 9, 14, 9, DateTimeKind.Utc)), web.Container);
        Assert.Equal("3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a", web.Container!.Id.ToString());
        var debug = listed.First(pod => pod.Name == "debug");
        Assert.Equal(("debug", "Pod"), (debug.Workload, debug.WorkloadKind));

        // The watch: log-shipper got its container id, a DaemonSet's pod arrived, debug was deleted.
        Assert.Contains(("shop", "web-7d9c5b6f4d-x2k8p", ShipperContainer), Described(Published()[1]));
        var exporter = Published()[2].Single(pod => pod.Name == "node-exporter-q7w2r");
        Assert.Equal(("monitoring", "node-exporter", "DaemonSet", null), (exporter.Namespace, exporter.Workload, exporter.WorkloadKind, exporter.Container));
        Assert.DoesNotContain(Published()[3], pod => pod.Name == "debug");
        Assert.Equal(Described(listed), Described(Published()[4]));

        var requests = api.Requests;
        Assert.All(requests, request => Assert.Equal("spec.nodeName=node-a", request["fieldSelector"]));
        Assert.Equal(
            [("", ""), ("true", "48213"), ("true", "48255"), ("", ""), ("true", "48213")],
            requests.Take(5).Select(r => (r["watch"].ToString(), r["resourceVersion"].ToString())));
        Assert.Empty(Logged());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Listed_and_watched_pods_carry_their_annotations_only_when_asked_for(bool annotations)
    {
        await using var api = await FakeKubernetesApi.StartAsync(lists: [new(200, "pods-node-a.json")], watches: [new(200, "watch-node-a.jsonl")]);
        using var stop = new CancellationTokenSource();
        var run = RunAsync(api, stop.Token, annotations);

        await TestNodes.EventuallyAsync(() => Task.FromResult(Published().Count >= 2), "the list and the watch's first change");
        await stop.CancelAsync();
        await run;

        // The list's web pod and the watch's (its log-shipper named) carry the same annotations.
        foreach (var published in Published().Take(2))
        {
            var web = published.Where(pod => pod.Name == "web-7d9c5b6f4d-x2k8p").ToList();
            Assert.NotEmpty(web);
            Assert.All(web, pod => Assert.Equal(annotations ? 4 : 0, pod.Annotations.Length));
        }
    }

    [Fact]
    public async Task An_api_server_that_refuses_is_said_once_until_it_answers_and_then_once_that_it_does()
    {
        await using var api = await FakeKubernetesApi.StartAsync(
            lists: [new(403, "forbidden.json"), new(403, "forbidden.json"), new(403, "forbidden.json"), new(200, "pods-node-a.json")],
            watches: []);
        using var stop = new CancellationTokenSource();
        var run = RunAsync(api, stop.Token);

        await TestNodes.EventuallyAsync(() => Task.FromResult(Published().Count >= 1), "the list after three refusals");
        await stop.CancelAsync();
        await run;

        Assert.Equal(4, api.Requests.Count(r => r["watch"] != "true"));
        var log = Logged();
        Assert.Equal(2, log.Count);
        Assert.Contains("answered 403", log[0]);
        Assert.Contains("rbac.yaml", log[0]);
        Assert.Contains("answers again", log[1]);
        Assert.Equal(4, Published()[0].Count);
    }

    private Task RunAsync(FakeKubernetesApi api, CancellationToken ct, bool annotations = false)
    {
        var client = new HttpClient { BaseAddress = api.Address, Timeout = TimeSpan.FromSeconds(10) };
        var watcher = new PodWatcher(client, "node-a", annotations, Publish, _log, retryDelay: TimeSpan.FromMilliseconds(50));
        return Task.Run(async () =>
        {
            using (client) await watcher.RunAsync(ct);
        }, CancellationToken.None);
    }

    private static List<(string Namespace, string Name, string? Container)> Described(IReadOnlyCollection<KubernetesPod> pods) =>
        pods.Select(pod => (pod.Namespace, pod.Name, Container: pod.Container?.RuntimeId))
            .OrderBy(d => d.Container is not null).ThenBy(d => d.Name, StringComparer.Ordinal).ThenBy(d => d.Container, StringComparer.Ordinal)
            .ToList();

    private void Publish(IReadOnlyCollection<KubernetesPod> pods)
    {
        lock (_lock) _published.Add(pods);
    }

    private List<IReadOnlyCollection<KubernetesPod>> Published()
    {
        lock (_lock) return [.. _published];
    }

    private List<string> Logged() => [.. _log];
}
