using System.Text;
using Forkline.Collector.Containers;

namespace Forkline.Collector.Tests;

public sealed class ContainerCgroupNamesTests
{
    private const string Id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string PodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";

    [Theory]
    [InlineData("/system.slice/docker-" + Id + ".scope", null)]
    [InlineData("/docker/" + Id, null)]
    [InlineData("/kubepods/besteffort/pod" + PodUid + "/" + Id, PodUid)]
    [InlineData("/kubepods/pod" + PodUid + "/" + Id, PodUid)]
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod5f0c3a6e_8b1d_4c2e_9a7f_0e1d2c3b4a59.slice/cri-containerd-" + Id + ".scope", PodUid)]
    [InlineData("/kubepods.slice/kubepods-pod5f0c3a6e_8b1d_4c2e_9a7f_0e1d2c3b4a59.slice/crio-" + Id + ".scope", PodUid)]
    [InlineData("/kubepods/burstable/pod" + PodUid + "/crio-" + Id, PodUid)]
    [InlineData("/machine.slice/libpod-" + Id + ".scope", null)]
    [InlineData("/libpod_parent/libpod-" + Id, null)]
    public void Runtime_layouts_name_the_container_and_under_kubepods_the_pod(string path, string? podUid)
    {
        var container = ContainerCgroupNames.ParsePath(path);

        Assert.NotNull(container);
        Assert.Equal(Id, container.ContainerId);
        Assert.Equal(podUid, container.PodUid);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/system.slice/ssh.service")]
    [InlineData("/user.slice/user-0.slice/session-3.scope")]
    [InlineData("/machine.slice/libpod-conmon-" + Id + ".scope")]
    [InlineData("/kubepods/burstable/pod" + PodUid + "/crio-conmon-" + Id + ".scope")]
    [InlineData("/process_api/e9664c3f8c916b71f034ed4425347e5f")]
    [InlineData("/docker/" + "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("/docker/" + Id + "0")]
    public void Other_cgroups_are_no_container(string path) => Assert.Null(ContainerCgroupNames.ParsePath(path));

    [Fact]
    public void A_malformed_pod_directory_leaves_the_pod_uid_out_but_keeps_the_container()
    {
        var container = ContainerCgroupNames.Parse(Encoding.ASCII.GetBytes(Id), "podnot-a-uid"u8);

        Assert.Equal(Id, container!.ContainerId);
        Assert.Null(container.PodUid);
    }
}
