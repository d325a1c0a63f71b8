using Forkline.Collector.Containers;
using Forkline.Collector.Decoding;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;

namespace Forkline.Collector.Tests;

public sealed class PodDirectoryTests
{
    private const string ContainerId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string PodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
    private const string OtherContainerId = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    private static readonly KubernetesPod Pod = new(PodUid, "shop", "web-1", [new("app", "web")], "web", "Deployment");
    private static readonly KubernetesPod PodWithContainer =
        Pod with { Container = new KubernetesContainer("containerd://" + ContainerId, "web", "nginx:1.27", "nginx@sha256:6c5b") };

    private readonly PodDirectory _pods = new();
    private readonly RecordDecoder _decoder;

    public PodDirectoryTests() => _decoder = new RecordDecoder([], new DecodeCounters(), pods: _pods);

    [Fact]
    public void An_exec_carries_its_pod_once_listed_and_its_container_once_the_pod_status_names_it()
    {
        Assert.Null(Decode(ContainerId, PodUid).Pod);

        _pods.Publish([Pod]);
        Assert.Same(Pod, Decode(ContainerId, PodUid).Pod);

        _pods.Publish([Pod, PodWithContainer]);
        var described = Decode(ContainerId, PodUid);
        Assert.Same(PodWithContainer, described.Pod);
        Assert.Equal((ContainerId, PodUid), (described.ContainerId, described.PodUid));

        _pods.Publish([]);
        Assert.Null(Decode(ContainerId, PodUid).Pod);
    }

    [Fact]
    public void Execs_of_one_cgroup_share_one_identity_until_the_pod_found_for_it_changes()
    {
        _pods.Publish([Pod, PodWithContainer]);
        var first = Decode(ContainerId, PodUid);
        Assert.Same(first, Decode(ContainerId, PodUid));

        // A new listing (another pod changed) that holds the same pod: nothing new to make.
        _pods.Publish([Pod, PodWithContainer, Pod with { Uid = "00000000-0000-0000-0000-000000000001", Name = "other" }]);
        Assert.Same(first, Decode(ContainerId, PodUid));
    }

    [Fact]
    public void A_container_of_a_pod_not_listed_and_a_process_outside_containers_carry_no_pod()
    {
        _pods.Publish([Pod, PodWithContainer]);

        Assert.Null(Decode(OtherContainerId, "11111111-2222-4333-8444-555555555555").Pod);
        Assert.Null(Decode(OtherContainerId, podUid: null).Pod);
        Assert.Null(Assert.IsType<ExecEvent>(_decoder.Decode(SampleEvents.Encode(SampleEvents.Exec with { Container = null }))).Container);
    }

    [Fact]
    public void With_container_identity_off_no_exec_carries_a_container_or_pod()
    {
        _pods.Publish([Pod, PodWithContainer]);
        var off = new RecordDecoder([], new DecodeCounters(), pods: _pods, containerIdentity: false);

        var exec = SampleEvents.Exec with { Container = new ContainerIdentity(ContainerId, PodUid) };

        Assert.Null(Assert.IsType<ExecEvent>(off.Decode(SampleEvents.Encode(exec))).Container);
        Assert.Same(PodWithContainer, Decode(ContainerId, PodUid).Pod);
    }

    private ContainerIdentity Decode(string containerId, string? podUid)
    {
        var exec = SampleEvents.Exec with { Container = new ContainerIdentity(containerId, podUid) };
        return Assert.IsType<ExecEvent>(_decoder.Decode(SampleEvents.Encode(exec))).Container!;
    }
}
