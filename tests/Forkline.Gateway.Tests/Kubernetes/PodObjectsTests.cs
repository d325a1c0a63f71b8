using System.Collections.Immutable;
using System.Text.Json;
using Forkline.Contracts.Identity;
using Forkline.Gateway.Kubernetes;

namespace Forkline.Gateway.Tests.Kubernetes;

/// <summary>What a pod object says of its containers beyond their ids, as Tetragon's Container carries it.</summary>
public sealed class PodObjectsTests
{
    /// <summary>The pods of a recorded Pod or PodList object.</summary>
    private static List<KubernetesPod> ReadRecorded(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Recorded", file)));
        if (!document.RootElement.TryGetProperty("items", out var items)) return PodObjects.Read(document.RootElement);
        return items.EnumerateArray().SelectMany(PodObjects.Read).ToList();
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
