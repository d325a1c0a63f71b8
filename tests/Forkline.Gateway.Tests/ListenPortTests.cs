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
    public void A_port_claimed_by_a_node_that_has_not_bound_it_yet_is_refused_to_a_second_node_until_the_first_lets_it_go()
    {
        var port = TestNodes.FreePort();

        var first = ListenPort.Claim("127.0.0.1", port, "cluster", "Cluster:Port");
        var refused = Assert.Throws<InvalidOperationException>(() => ListenPort.Claim("127.0.0.1", port, "cluster", "Cluster:Port"));
        first.Dispose();
        using var after = ListenPort.Claim("127.0.0.1", port, "cluster", "Cluster:Port");

        Assert.Equal($"the cluster port 127.0.0.1:{port} is in use by another forkline node, starting or running (it holds {first.Path}) — stop that node, or set Cluster:Port to a free port",
            refused.Message);
        Assert.Equal(first.Path, after.Path);
    }

    [Fact]
    public async Task A_running_node_holds_its_cluster_port_and_lets_it_go_when_it_stops()
    {
        var port = TestNodes.FreePort();
        var node = await TestNodes.StartAsync(TestNodes.Settings(_data, port: port));

        var refused = Assert.Throws<InvalidOperationException>(() => ListenPort.Claim("127.0.0.1", port, "cluster", "Cluster:Port"));
        await node.DisposeAsync();
        // The claim goes with the host's stop; the listener's socket may take Akka.Remote's own moment to close.
        PortLock? after = null;
        await TestNodes.EventuallyAsync(() => Task.FromResult(TryClaim(port, out after)), "the stopped node's cluster port can be claimed again");
        after!.Dispose();

        Assert.StartsWith($"the cluster port 127.0.0.1:{port} is in use by another forkline node", refused.Message);
    }

    [Fact]
    public void An_address_of_no_interface_of_this_host_names_the_setting()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => ListenPort.EnsureFree("192.0.2.1", 9100, "metrics", "Metrics:Listen (--metrics)"));

        Assert.StartsWith("the metrics port cannot listen on 192.0.2.1:9100: ", refused.Message);
        Assert.EndsWith("— set Metrics:Listen (--metrics) to an address of this host", refused.Message);
    }

    private static bool TryClaim(int port, out PortLock? held)
    {
        try
        {
            held = ListenPort.Claim("127.0.0.1", port, "cluster", "Cluster:Port");
            return true;
        }
        catch (InvalidOperationException)
        {
            held = null;
            return false;
        }
    }
}
