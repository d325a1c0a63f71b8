using Forkline.Collector.Procfs;
using Forkline.Collector.Sources;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Wire;
using Forkline.Forwarding;
using Forkline.Gateway.Cluster;
using Microsoft.Extensions.Logging;

namespace Forkline.Collecting;

/// <summary>
/// Connects a collector's procfs bootstrap to the host's stored live tree through the gateway: at every
/// start, what ended while nobody watched is ended (a concluded exit), what still runs keeps its exec_id.
/// </summary>
public static class StoredTreeReconciliation
{
    /// <summary>A gateway that does not answer in this time leaves the stored tree as it is, said in one line.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Reconciles a BPF source with <paramref name="host"/>'s stored tree; a replayed capture is not this host's present.</summary>
    public static void Apply(IEventSource source, GatewayForwarder forwarder, string host, BootClock clock, ILogger log)
    {
        if (source is BpfEventSource bpf) bpf.ReconcileWith(Lookup(forwarder, host, clock, DefaultTimeout, log));
    }

    public static StoredIdentities Lookup(GatewayForwarder forwarder, string host, BootClock clock, TimeSpan timeout, ILogger log) =>
        scanned =>
        {
            var request = new ReconcileHost { Host = host, ScanTimeUnixTicks = WireConverter.ToUnixTicks(DateTime.UtcNow) };
            foreach (var process in scanned)
            {
                request.Scanned.Add(new ScannedProcess
                {
                    Pid = process.Pid, ForkKtime = process.StartKtime, ForkTimeUnixTicks = WireConverter.ToUnixTicks(clock.ToUtc(process.StartKtime)),
                });
            }
            HostReconciled reply;
            try
            {
                // The collector's reader thread waits here once, before it reads its first ring record.
                reply = forwarder.ReconcileAsync(request, timeout).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is Akka.Actor.AskTimeoutException or TaskCanceledException)
            {
                log.LogWarning("no gateway compared this host's stored live tree with /proc within {TimeoutSeconds:0} s; " +
                               "processes of earlier runs stay live in it, and running ones are stored again under their /proc start", timeout.TotalSeconds);
                return new Dictionary<int, ulong>();
            }
            var adopted = new Dictionary<int, ulong>(reply.Adopted.Count);
            foreach (var execId in reply.Adopted) adopted[execId.Pid] = execId.StartKtime;
            if (reply.Concluded > 0 || adopted.Count > 0)
                log.LogInformation("stored live tree of {Host} reconciled with /proc: {Running} still running, {Concluded} gone while not watched (exit concluded at restart)",
                    host, adopted.Count, reply.Concluded);
            return adopted;
        };
}
