using System.Net;
using System.Net.Sockets;

namespace Forkline.Gateway.Hosting;

/// <summary>
/// A cluster address (host:port) belongs to one live node. Akka.Remote's listener sets SO_REUSEADDR,
/// which .NET on Linux turns into SO_REUSEPORT as well: a second node then binds the same port without
/// an error and the kernel hands it part of the connections meant for the member that owns the address.
/// The cluster sees heartbeats lost and a new incarnation of that member, downs healthy gateways and
/// splits in two (found with deploy/local/fleet). So a node checks the port before it starts Akka, with
/// SO_REUSEADDR alone: that bind still succeeds next to connections left in TIME_WAIT by a node that
/// just died, and fails next to any listener.
/// </summary>
public static class ClusterAddressClaim
{
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    /// <summary>One-line <see cref="InvalidOperationException"/> naming the fix when another process listens on the address.</summary>
    public static void EnsureFree(string hostname, int port)
    {
        // Port 0 takes whatever free port the kernel gives: no address to collide on.
        if (port == 0 || !OperatingSystem.IsLinux()) return;
        var address = AddressOf(hostname);
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        try
        {
            socket.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new InvalidOperationException(
                $"the cluster address {hostname}:{port} is already taken on this machine (another gateway, or another program, listens on port {port}); " +
                "refusing to start, since a second node on one address makes the cluster down its owner: give this node its own Cluster:Port", e);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new InvalidOperationException(
                $"the cluster address {hostname}:{port} is not an address of this machine ({address}): set Cluster:Hostname to one of its own addresses", e);
        }
    }

    /// <summary>The address Akka's transport binds for a name: IPv4 first, as DotNetty resolves it by default.</summary>
    private static IPAddress AddressOf(string hostname)
    {
        if (IPAddress.TryParse(hostname, out var address)) return address;
        try
        {
            var addresses = Dns.GetHostAddresses(hostname);
            if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"the cluster hostname {hostname} does not resolve ({e.Message}): set Cluster:Hostname to an address of this machine", e);
        }
    }
}
