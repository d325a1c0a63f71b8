using System.Net;
using System.Net.Sockets;

namespace Forkline.Hosting;

/// <summary>
/// A listener's port checked before the component that binds it starts: Akka.Remote and the metrics
/// server fail on a taken port with nested exceptions and stack traces in the log; this is one line
/// naming the port, what it is for, and the setting that moves it.
/// </summary>
/// <remarks>
/// For the cluster port this is also what keeps a second gateway off a member's address. Akka.Remote's
/// listener asks for SO_REUSEADDR, which .NET on Linux turns into SO_REUSEPORT as well, so a second
/// gateway on a member's cluster port bound it without an error: the kernel handed it part of the
/// connections meant for the member, the cluster saw heartbeats lost and a new incarnation at the
/// member's address, downed healthy gateways and split in two (issue 13, found with deploy/local/fleet).
/// This probe's plain bind (SO_REUSEADDR only, which .NET sets on Unix by itself) fails next to any
/// listener and still passes next to connections in TIME_WAIT after a crash.
/// </remarks>
public static class ListenPort
{
    /// <param name="what">What listens there ("cluster", "metrics").</param>
    /// <param name="setting">The option or setting that chooses another port.</param>
    /// <exception cref="InvalidOperationException">The port is taken or the address is not this host's.</exception>
    public static void EnsureFree(string host, int port, string what, string setting)
    {
        if (port == 0) return;
        var address = AddressOf(host, what, setting);
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(address, port));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new InvalidOperationException(
                $"the {what} port {host}:{port} is in use by another process — stop that process, or set {setting} to a free port", e);
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException(
                $"the {what} port cannot listen on {host}:{port}: {e.Message} — set {setting} to an address of this host", e);
        }
    }

    private static IPAddress AddressOf(string host, string what, string setting)
    {
        if (IPAddress.TryParse(host, out var address)) return address;
        try
        {
            return Dns.GetHostAddresses(host)[0];
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"the {what} address {host} does not resolve ({e.Message}) — set {setting} to an address of this host", e);
        }
    }
}
