using System.Net;
using System.Net.Sockets;
using Forkline.Gateway.Hosting;
using Forkline.Gateway.Tests.Support;

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

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TestNodes.StartAsync(TestNodes.Settings(_data) with { Port = port }));

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
    public void A_port_whose_only_sockets_are_connections_in_time_wait_passes_so_a_node_restarted_after_a_crash_can_listen_again()
    {
        var port = TestNodes.FreePort();
        using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen();
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(IPAddress.Loopback, port);
            // The listening side closes first, as a killed node's kernel does: its end stays in TIME_WAIT.
            using (var accepted = listener.Accept()) accepted.Close();
            Thread.Sleep(100);
        }
        Assert.Throws<SocketException>(() =>
        {
            using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            plain.Bind(new IPEndPoint(IPAddress.Loopback, port));
        });

        ListenPort.EnsureFree("127.0.0.1", port, "cluster", "Cluster:Port");
    }

    [Fact]
    public void An_address_of_no_interface_of_this_host_names_the_setting()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => ListenPort.EnsureFree("192.0.2.1", 9100, "metrics", "Metrics:Listen (--metrics)"));

        Assert.StartsWith("the metrics port cannot listen on 192.0.2.1:9100: ", refused.Message);
        Assert.EndsWith("— set Metrics:Listen (--metrics) to an address of this host", refused.Message);
    }
}
