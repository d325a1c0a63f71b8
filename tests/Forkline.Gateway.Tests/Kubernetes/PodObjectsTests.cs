using System.Collections.Immutable;
using System.Text.Json;
using Forkline.Contracts.Identity;
using Forkline.Gateway.Kubernetes;

namespace Forkline.Gateway.Tests.Kubernetes;

/// <summary>What a pod object says of its containers beyond their ids, as Tetragon's Container carries it.</summary>
public sealed class PodObjectsTests
{
    /// <summary>The pods of a recorded Pod or PodList object.</summary>
    private static List<KubernetesPod> ReadRecorded(string file, bool annotations = false)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Recorded", file)));
        if (!document.RootElement.TryGetProperty("items", out var items)) return PodObjects.Read(document.RootElement, annotations);
        return items.EnumerateArray().SelectMany(pod => PodObjects.Read(pod, annotations)).ToList();
    }

    private static KubernetesContainer Container(List<KubernetesPod> pods, string name) => pods.Single(pod => pod.Container?.Name == name).Container!;

    [Fact]
    public void Each_container_carries_its_running_start_its_privileged_flag_and_the_exec_commands_of_its_probes()
    {
        var pods = ReadRecorded("pod-probes-privileged.json");

        var agent = Container(pods, "cilium-agent");
        Assert.Equal(new DateTime(2026, 12, 2, 8, 0, 19, DateTimeKind.Utc), agent.StartedAt);
        Assert.Equal(DateTimeKind.Utc, agent.StartedAt!.Value.Kind);
        Assert.True(agent.Privileged);
        // Its liveness probe is an HTTP GET: only the readiness probe runs a command.
        Assert.Equal([["cilium", "status", "--brief"]], agent.ExecProbes.Select(probe => probe.ToArray()));

        var sidecar = Container(pods, "health-sidecar");
        Assert.Equal(new DateTime(2026, 12, 2, 7, 0, 20, 500, DateTimeKind.Utc), sidecar.StartedAt);
        Assert.False(sidecar.Privileged);
        Assert.Equal([["/bin/sh", "-c", "test -f /tmp/healthy"]], sidecar.ExecProbes.Select(probe => probe.ToArray()));

        // A terminated init container has no running start; its privileged flag comes from the initContainers spec.
        var init = Container(pods, "mount-cgroup");
        Assert.Equal((null, true), (init.StartedAt, init.Privileged));
        Assert.True(init.ExecProbes.IsEmpty);
    }

    [Fact]
    public void A_running_container_without_exec_probes_or_a_security_context_has_its_start_and_is_not_privileged()
    {
        var pods = ReadRecorded("pods-node-a.json");

        var web = Container(pods, "web");
        Assert.Equal(new DateTime(2026, 12, 2, 9, 14, 9, DateTimeKind.Utc), web.StartedAt);
        Assert.False(web.Privileged);
        Assert.True(web.ExecProbes.IsEmpty);
    }

    [Fact]
    public void Annotations_are_read_sorted_by_key_only_when_asked_for_and_shared_by_the_pod_and_each_of_its_containers()
    {
        var asked = ReadRecorded("pods-node-a.json", annotations: true).Where(pod => pod.Name == "web-7d9c5b6f4d-x2k8p").ToList();
        var notAsked = ReadRecorded("pods-node-a.json").Where(pod => pod.Name == "web-7d9c5b6f4d-x2k8p").ToList();

        (string, string)[] expected =
        [
            ("kubectl.kubernetes.io/restartedAt", "2026-12-02T09:13:58Z"), ("prometheus.io/port", "9113"), ("prometheus.io/scrape", "true"),
            ("shop.example/owner", "team-web \"payments\"\n\u001b[31m"),
        ];
        Assert.Equal(2, asked.Count); // the pod, and its web container (the list does not name log-shipper's yet)
        Assert.All(asked, pod => Assert.Equal(expected, pod.Annotations.Select(a => (a.Key, a.Value))));
        Assert.All(notAsked, pod => Assert.True(pod.Annotations.IsEmpty));
        // A pod without annotations has none, asked for or not.
        Assert.True(ReadRecorded("pods-node-a.json", annotations: true).Single(pod => pod.Name == "debug" && pod.Container is null).Annotations.IsEmpty);
    }

    [Fact]
    public void An_annotation_or_label_that_is_null_reads_empty_and_one_of_another_kind_reads_as_its_json_text()
    {
        using var document = JsonDocument.Parse("""
            {"metadata": {"uid": "u-1", "namespace": "ns", "name": "odd",
              "labels": {"b": null, "a": "x"}, "annotations": {"n": 5, "o": {"k": true}, "s": "text"}}}
            """);

        var pod = PodObjects.Read(document.RootElement, annotations: true).Single();

        Assert.Equal([("a", "x"), ("b", "")], pod.Labels.Select(l => (l.Key, l.Value)));
        Assert.Equal([("n", "5"), ("o", "{\"k\": true}"), ("s", "text")], pod.Annotations.Select(a => (a.Key, a.Value)));
    }

    [Theory]
    [InlineData("/bin/cilium", new[] { "cilium", "status", "--brief" }, true)]
    [InlineData("/usr/local/bin/cilium", new[] { "/usr/local/bin/cilium", "status", "--brief" }, true)]
    [InlineData("/bin/sh", new[] { "sh", "-c", "test -f /tmp/healthy" }, true)]
    [InlineData("/usr/bin/sh", new[] { "sh", "-c", "test -f /tmp/healthy" }, false)] // the probe names /bin/sh by its path
    [InlineData("/bin/cilium", new[] { "cilium", "status" }, false)]
    [InlineData("/bin/cilium", new[] { "cilium", "status", "--brief", "--verbose" }, false)]
    [InlineData("/bin/cilium", new[] { "cilium", "status --brief" }, false)] // same words, other argv
    [InlineData("/bin/xcilium", new[] { "xcilium", "status", "--brief" }, false)]
    public void A_process_may_be_an_exec_probe_when_its_binary_and_argv_are_a_probe_s_command(string binary, string[] argv, bool expected)
    {
        var container = new KubernetesContainer("containerd://dd4f", "agent", "image", "id", ExecProbes:
            [["cilium", "status", "--brief"], ["/bin/sh", "-c", "test -f /tmp/healthy"]]);

        Assert.Equal(expected, container.MaybeExecProbe(binary, [.. argv]));
    }

    [Fact]
    public void A_container_without_exec_probes_is_never_one()
    {
        var container = new KubernetesContainer("containerd://dd4f", "agent", "image", "id");

        Assert.False(container.MaybeExecProbe("/bin/true", ["true"]));
        Assert.False(container.MaybeExecProbe("/bin/true", ImmutableArray<string>.Empty));
    }
}
