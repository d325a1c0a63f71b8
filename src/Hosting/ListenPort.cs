using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;

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
/// listener and still passes next to connections in TIME_WAIT after a crash. Two nodes probing at the
/// same moment would both pass it, though, and then both bind; <see cref="Claim"/> closes that gap.
/// </remarks>
public static class ListenPort
{
    /// <summary>
    /// Where the claims' lock files go: the runtime directory when this user may write it (root, or a
    /// service given RuntimeDirectory=forkline), else the temporary directory. Nodes of one user on one
    /// host pick the same one and so exclude each other.
    /// </summary>
    private static readonly string[] ClaimDirectories = ["/run/forkline", Path.Combine(Path.GetTempPath(), "forkline")];

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

    /// <summary>
    /// The port held for this node until the lock is disposed (once its listener closed): an exclusive lock
    /// (flock, through FileShare.None) on a file named for the address and port, which the kernel also lets go
    /// when the process dies; then checked (<see cref="EnsureFree"/>). A second node claiming it meanwhile, at
    /// the same instant included, is refused in one line, before it binds what a listener that shares its
    /// port (SO_REUSEPORT) would let it bind. Port 0 (any free port) claims nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The port is taken, claimed, or no lock file can be written.</exception>
    public static PortLock Claim(string host, int port, string what, string setting)
    {
        if (port == 0) return new PortLock(null);
        var held = Lock(host, port, what, setting);
        try
        {
            EnsureFree(host, port, what, setting);
            return held;
        }
        catch (InvalidOperationException)
        {
            held.Dispose();
            throw;
        }
    }

    private static PortLock Lock(string host, int port, string what, string setting)
    {
        var name = $"{what}-{AddressOf(host, what, setting)}-{port}.lock";
        var problems = new List<string>();
        foreach (var directory in ClaimDirectories)
        {
            var path = Path.Combine(directory, name);
            try
            {
                Directory.CreateDirectory(directory);
                return new PortLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (IsHeldByAnother(e))
            {
                throw new InvalidOperationException(
                    $"the {what} port {host}:{port} is in use by another forkline node, starting or running (it holds {path}) — stop that node, or set {setting} to a free port", e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Not this user's to write (the runtime directory without root): the next directory.
                problems.Add($"{path}: {e.Message}");
            }
        }
        throw new InvalidOperationException(
            $"the {what} port {host}:{port} cannot be claimed for this node, no lock file can be written ({string.Join("; ", problems)}) — make {ClaimDirectories[^1]} writable");
    }

    /// <summary>Linux's EWOULDBLOCK: .NET reports a lock another holds (flock with LOCK_NB) as a sharing violation carrying that errno.</summary>
    private const int WouldBlock = 11;

    private static bool IsHeldByAnother(IOException e) => e.HResult == WouldBlock;

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

/// <summary>A port's lock file held for this node (<see cref="ListenPort.Claim"/>).</summary>
public sealed class PortLock(FileStream? file) : IDisposable
{
    /// <summary>The lock file held; null for port 0.</summary>
    public string? Path => file?.Name;

    public void Dispose() => file?.Dispose();
}

/// <summary>
/// A node's claim on its port (<see cref="ListenPort.Claim"/>) as a part of its host: taken before any part
/// starts (so before the listener binds), let go once all parts stopped, the listener included, or when the
/// host is disposed after a failed start.
/// </summary>
public sealed class PortClaim(string host, int port, string what, string setting) : IHostedLifecycleService, IDisposable
{
    private PortLock? _held;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _held = ListenPort.Claim(host, port, what, setting);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _held?.Dispose();
        _held = null;
    }
}
