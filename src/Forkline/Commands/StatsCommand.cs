using System.CommandLine;
using System.Globalization;
using Forkline.Client;
using Forkline.Contracts.Accounting.Wire;
using Forkline.Contracts.Api;
using Forkline.Export;
using Forkline.Gateway.Api;

namespace Forkline.Commands;

/// <summary>
/// `forkline stats --host H`: the loss accounting of a host's collector runs, stage by stage, with
/// the identity that every produced event reached exactly one end or is still on its way.
/// </summary>
public static class StatsCommand
{
    /// <summary>Exit code when a final run does not balance: events went missing without being counted.</summary>
    public const int Unbalanced = 4;

    public static Command Create()
    {
        var gateway = GatewayCommand.GatewayOption();
        var json = GatewayCommand.JsonOption("the gateway's GetHostStats answer as JSON");
        var host = GatewayCommand.HostOption();
        var command = new Command("stats",
            $"Loss accounting of a host's collector runs: produced in the kernel, lost in the ring, malformed, discarded, dropped by the forwarder, stored at the gateway (exit code {Unbalanced} when a stopped run does not add up)")
        {
            gateway, json, host,
        };
        command.SetAction(async (parse, ct) =>
        {
            var unbalanced = false;
            var exitCode = await GatewayCommand.RunAsync("stats", parse.GetRequiredValue(gateway), ct, async (client, token) =>
            {
                var response = await client.Api.GetHostStatsAsync(new GetHostStatsRequest { Host = parse.GetRequiredValue(host) }, GatewayClient.Query(token));
                if (parse.GetValue(json)) Console.WriteLine(ApiJson.Formatter.Format(response));
                else Write(Console.Out, response);
                foreach (var run in response.Runs) unbalanced |= run.Final && !run.Balanced;
            });
            return exitCode == 0 && unbalanced ? Unbalanced : exitCode;
        });
        return command;
    }

    /// <summary>The human view of a host's runs and gaps (`stats` without --json).</summary>
    public static void Write(TextWriter output, GetHostStatsResponse response)
    {
        if (response.Runs.Count == 0)
        {
            output.WriteLine($"no collector runs known for host '{TerminalText.Escape(response.Host)}' (a host is named by its collector's node name; see --host)");
            return;
        }
        foreach (var run in response.Runs) WriteRun(output, TerminalText.Escape(response.Host), run);
        WriteGaps(output, response);
    }

    /// <summary>When the host was not watched, oldest first: what ended then ended unseen (concluded, no exit code).</summary>
    private static void WriteGaps(TextWriter output, GetHostStatsResponse response)
    {
        if (response.Gaps.Count == 0)
        {
            output.WriteLine("gaps: none recorded (the host was watched without a break)");
            return;
        }
        output.WriteLine($"gaps: {response.Gaps.Count} (the latest, oldest first; processes that ended in one have a concluded end, no exit code)");
        foreach (var gap in response.Gaps)
            output.WriteLine($"  {Time(gap.From)} .. {Time(gap.To)}  {Duration(gap.From, gap.To),10}  {ProcessText.GapCause(gap)}");
    }

    private static string Duration(Google.Protobuf.WellKnownTypes.Timestamp from, Google.Protobuf.WellKnownTypes.Timestamp to)
    {
        var span = to.ToDateTime() - from.ToDateTime();
        return span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m" : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m{span.Seconds:00}s" : $"{span.TotalSeconds:0.0}s";
    }

    private static void WriteRun(TextWriter output, string host, RunStats run)
    {
        var state = run.Final ? "stopped" : run.Crashed ? $"crashed: ended without a final report, found by run {TerminalText.Escape(run.CrashFoundBy)} at {Time(run.CrashFound)}" : "running";
        if (run.Counts is not { } c)
        {
            output.WriteLine($"host {host}, run {TerminalText.Escape(run.RunId)} ({state}): no report; {N(run.Stored)} exec/exit/clone events stored\n");
            return;
        }
        output.WriteLine($"host {host}, run {TerminalText.Escape(run.RunId)} ({TerminalText.Escape(run.Source)}, {state}; started {Time(run.Started)}, reported {Time(run.Reported)})");
        Line(output, "produced in the kernel", c.KernelProduced, "records the BPF programs tried to put into the ring (replay: records read)");
        Line(output, "read from /proc at start", c.Bootstrapped, "processes that ran before the collector");
        Line(output, "exits concluded", c.ActorsConcluded, "processes found gone whose exit record was lost (no exit code)");
        Line(output, "lost in the ring buffer", c.RingLost + c.KernelDiscarded, c.KernelDiscarded > 0 ? $"{N(c.KernelDiscarded)} discarded by the kernel side" : "ring full");
        Line(output, "dropped as malformed", c.Malformed, "records the decoder rejected");
        Line(output, "discarded by the actors", c.ActorsDiscarded, "duplicates, images superseded by a later one");
        Line(output, "withheld (clones off)", c.Withheld, "forks that never exec'd; a setting, not a loss");
        Line(output, "out-of-order cache", c.CacheGaveUp, $"gave up waiting: emitted flagged incomplete, not lost; {N(c.CacheWaiting)} waiting now");
        Line(output, "forwarding sink failures", c.SinkFailures, "events the forwarder could not take");
        Line(output, "dropped by the forwarder", c.ForwardDroppedFull + c.ForwardDroppedShutdown,
            $"buffer full {N(c.ForwardDroppedFull)}, unacknowledged at stop {N(c.ForwardDroppedShutdown)}; {N(c.ForwardBuffered)} buffered now");
        Line(output, "acknowledged by a gateway", c.AcknowledgedLifecycle + c.AcknowledgedHooks,
            $"exec/exit/clone {N(c.AcknowledgedLifecycle)}, hooks {N(c.AcknowledgedHooks)} (delivered live)");
        Line(output, "stored at the gateway", run.Stored,
            $"exec/exit/clone in the journal now; already stored by another run {N(run.AlreadyStored)}, rejected {N(run.RejectedAtGateway)}, resent batches' events {N(run.ResentReceipts)}");
        output.WriteLine($"  {"in flight",-27} {run.InFlight,14:N0}  ring, out-of-order cache, forwarder (0 once stopped)");
        output.WriteLine(run.Balanced
            ? "  balanced: every produced event is accounted for, and every acknowledged exec/exit/clone is stored"
            : run.Crashed && !run.Final
                ? $"  crashed: the counts are its last report's ({Time(run.Reported)}); the {run.InFlight:N0} events then on their way (ring, actors, forwarder) died with it, "
                  + $"except what reached the journal after that report ({N(run.StoredAfterLastReport)} exec/exit/clone stored beyond what it acknowledged); "
                  + "what it produced after its last report is not counted (its kernel counters died with it), and processes that ended unseen are concluded at the next start"
            : run.Final
                ? $"  NOT BALANCED: {run.InFlight:N0} produced events unaccounted for, {run.AcknowledgedNotStored:N0} acknowledged exec/exit/clone not stored"
                : $"  running: {run.InFlight:N0} events on their way; the identity is checked once the run stops");
        output.WriteLine();
    }

    private static void Line(TextWriter output, string stage, ulong count, string meaning) =>
        output.WriteLine($"  {stage,-27} {N(count),14}  {meaning}");

    private static string N(ulong count) => count.ToString("N0", CultureInfo.InvariantCulture);

    private static string Time(Google.Protobuf.WellKnownTypes.Timestamp? time) =>
        time is null ? "-" : time.ToDateTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
