using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Remote;
using Forkline.Gateway.Telemetry;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// Downs a member whose process is certainly gone at once, instead of after the failure detector (about 4 s)
/// and the split-brain resolver's stable-after (<c>Cluster:DownUnreachableAfter</c>): when this node's
/// association with a member breaks, the member's remoting port is tried, and a port that refuses the
/// connection (its host answers with a reset: nothing listens there, so no actor system of that address
/// runs any more) <see cref="RefusalsToDown"/> times in a row is downed. A crashed or killed gateway is
/// the common case of a departure, and every second before it is downed is a second its hosts' batches
/// wait. A member that does not answer at all (power, network, a frozen process: the connection times out)
/// or still accepts connections is left to the failure detector and the resolver, which alone can tell a
/// dead node from a cut-off one. Downing a process that is gone takes nothing from anyone: its shards
/// still start elsewhere only after the down-removal margin.
/// </summary>
public sealed class GoneMemberDowning : ReceiveActor, IWithTimers
{
    /// <summary>Refused connections in a row before the member is downed: one could be its port between two listeners of a restart.</summary>
    public const int RefusalsToDown = 2;

    private static readonly TimeSpan ProbeEvery = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly GatewayMetrics _metrics;
    // The members being probed, by address, with the refusals counted so far.
    private readonly Dictionary<Address, int> _probing = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public GoneMemberDowning(GatewayMetrics metrics)
    {
        _metrics = metrics;
        Receive<DisassociatedEvent>(disassociated => StartProbing(disassociated.RemoteAddress));
        Receive<AssociationErrorEvent>(error => StartProbing(error.RemoteAddress));
        Receive<Probe>(probe => ProbeAsync(probe.Member).PipeTo(Self, failure: cause => new ProbeFailed(probe.Member, cause)));
        Receive<ProbeResult>(OnProbeResult);
        Receive<ProbeFailed>(failed =>
        {
            // Not proof of anything: the member is left to the failure detector and the resolver, and probed again at its next break.
            _log.Warning(failed.Cause, "probing cluster member {0} after its association broke failed", failed.Member);
            _probing.Remove(failed.Member);
        });
    }

    public static Props Props(GatewayMetrics metrics) => Akka.Actor.Props.Create(() => new GoneMemberDowning(metrics));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));
        Context.System.EventStream.Subscribe(Self, typeof(AssociationErrorEvent));
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void StartProbing(Address address)
    {
        if (_probing.ContainsKey(address) || !IsLiveMember(address)) return;
        _probing[address] = 0;
        Self.Tell(new Probe(address));
    }

    /// <summary>A member other than this node that is not already on its way out.</summary>
    private bool IsLiveMember(Address address)
    {
        if (address == _cluster.SelfAddress) return false;
        foreach (var member in _cluster.State.Members)
            if (member.Address == address)
                return member.Status is MemberStatus.Joining or MemberStatus.WeaklyUp or MemberStatus.Up or MemberStatus.Leaving;
        return false;
    }

    private void OnProbeResult(ProbeResult result)
    {
        if (!_probing.TryGetValue(result.Member, out var refusals)) return;
        if (result.Outcome != ProbeOutcome.Refused || !IsLiveMember(result.Member))
        {
            // It listens, does not answer, or was downed or removed meanwhile: the failure detector and the resolver decide.
            _probing.Remove(result.Member);
            return;
        }
        if (++refusals < RefusalsToDown)
        {
            _probing[result.Member] = refusals;
            Timers.StartSingleTimer(result.Member, new Probe(result.Member), ProbeEvery);
            return;
        }
        _probing.Remove(result.Member);
        _log.Warning("cluster member {0} is gone (its port refused {1} connections in a row after the association broke): downed without waiting for the failure detector",
            result.Member, RefusalsToDown);
        _metrics.GoneMemberDowned();
        _cluster.Down(result.Member);
    }

    private static async Task<ProbeResult> ProbeAsync(Address member)
    {
        if (member.Host is not { } host || member.Port is not { } port) return new ProbeResult(member, ProbeOutcome.NoAnswer);
        using var timeout = new CancellationTokenSource(ProbeTimeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token);
            return new ProbeResult(member, ProbeOutcome.Accepted);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return new ProbeResult(member, ProbeOutcome.Refused);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Unreachable host, name not resolved, or no answer within the timeout: not proof that the process is gone.
            return new ProbeResult(member, ProbeOutcome.NoAnswer);
        }
    }

    private sealed record Probe(Address Member);

    private enum ProbeOutcome
    {
        Accepted,
        Refused,
        NoAnswer,
    }

    private sealed record ProbeResult(Address Member, ProbeOutcome Outcome);

    private sealed record ProbeFailed(Address Member, Exception Cause);
}
