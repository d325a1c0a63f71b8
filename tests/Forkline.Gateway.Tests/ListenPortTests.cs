using System.Net;
using System.Net.Sockets;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Gateway.Tests;

public sealed class ListenPortTests : IDisposable
{
    private readonly TestDatabase _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task A_cluster_port_in_use_refuses_the_node_in_one_line_naming_the_port_and_the_setting()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TestNodes.StartAsync(TestNodes.Settings(_data, port: port)));

        Assert.Equal($"the cluster port 127.0.0.1:{port} is in use by another process — stop that process, or set --cluster-port (forkline run) or Cluster:Port (gateway) to a free port", refused.Message);
    }

    [Fact]
    public void A_free_port_passes_and_stays_free_for_its_listener()
    {
        var port = TestNodes.FreePort();

        ListenPort.EnsureFree("127.0.0.1", port, "metrics", "Metrics:Listen");

        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
    }

    [Fact]
    public void An_address_of_no_interface_of_this_host_names_the_setting()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => ListenPort.EnsureFree("192.0.2.1", 9100, "metrics", "Metrics:Listen (--metrics)"));

        Assert.StartsWith("the metrics port cannot listen on 192.0.2.1:9100: ", refused.Message);
        Assert.EndsWith("— set Metrics:Listen (--metrics) to an address of this host", refused.Message);
    }
}
