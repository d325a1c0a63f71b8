using System.Globalization;
using Forkline.Forwarding;
using Forkline.Gateway.Tests.Support.PostgreSql;

namespace Forkline.Benchmarks;

/// <summary>
/// `figures FleetSimulation`: the fleet simulator alone (<see cref="FleetSimulation"/>), on a PostgreSQL
/// server of its own; `figures Fleet` runs it too. FORKLINE_SIM_COLLECTORS sets how many collectors
/// (default 1,000, the target).
/// </summary>
public sealed class FleetSimulationFigures : IQuickFigures
{
    public const string CollectorsVariable = "FORKLINE_SIM_COLLECTORS";

    /// <summary>
    /// Forwarder:UnchangedReportInterval of the simulated collectors (hh:mm:ss); 00:00:05 sends an idle host's
    /// unchanged report at every look, as collectors did before it existed, for comparison.
    /// </summary>
    public const string UnchangedReportIntervalVariable = "FORKLINE_SIM_UNCHANGED_REPORT_INTERVAL";

    public string Name => "FleetSimulation";

    public async Task RunAsync(TextWriter output)
    {
        if (LocalPostgres.Unavailable is { } problem)
        {
            output.WriteLine($"fleet simulation skipped: {problem}");
            return;
        }
        await using var server = await LocalPostgres.StartAsync();
        var table = new FiguresTable(output);
        await AddToAsync(table, server, output);
        table.Print();
    }

    public static async Task AddToAsync(FiguresTable table, LocalPostgres server, TextWriter output)
    {
        var collectors = Environment.GetEnvironmentVariable(CollectorsVariable) is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : FleetSimulation.DefaultCollectors;
        var forwarding = Environment.GetEnvironmentVariable(UnchangedReportIntervalVariable) is { Length: > 0 } interval
            ? new ForwarderSettings { UnchangedReportInterval = TimeSpan.Parse(interval, CultureInfo.InvariantCulture) }
            : new ForwarderSettings();
        output.WriteLine($"fleet simulation on {Environment.ProcessorCount} cores: {collectors:N0} collectors in this process (one stream and host each, " +
                         $"5 processes/s each: exec, 2 hooks, exit; run report looked at every {forwarding.ReportInterval.TotalSeconds:N0} s, sent when changed " +
                         $"and every {forwarding.UnchangedReportInterval.TotalSeconds:N0} s unchanged) -> 3 `forkline gateway` processes -> PostgreSQL (local server, fsync off); {FleetSimulation.LoadAverage()}");
        var f = await FleetSimulation.MeasureAsync(server, collectors, forwarding, output);
        var at = $"{f.Collectors:N0} collectors";
        table.Add("collectors connected, each its own stream and host", f.Collectors, "", FleetSimulation.DefaultCollectors, higherIsBetter: true, orEqual: true);
        table.Add("3 gateways idle, no collector (baseline)", 100 * f.IdleBaselineCores, "% core", 0, higherIsBetter: false, hasTarget: false);
        table.Add($"3 gateways with {at} idle, first window (tier-1 JIT of the paths they started)", 100 * f.IdleCores, "% core", 0, higherIsBetter: false, hasTarget: false);
        table.Add($"3 gateways with {at} idle, the next window", 100 * f.IdleSteadyCores, "% core", 5, higherIsBetter: false, orEqual: true);
        table.Add("gateway CPU per connected idle collector (next window, above the baseline)", 100 * (f.IdleSteadyCores - f.IdleBaselineCores) / f.Collectors, "% core", 0,
            higherIsBetter: false, hasTarget: false);
        table.Add($"processes ingested, sustained ({at})", f.ProcessesPerSecond, "/s", 5_000, higherIsBetter: true, orEqual: true);
        table.Add("processes handed to the collectors (offered)", f.OfferedProcessesPerSecond, "/s", 0, higherIsBetter: true, hasTarget: false);
        table.Add("the simulator's own CPU meanwhile (all collectors)", 100 * f.SimulatorCores, "% core", 0, higherIsBetter: false, hasTarget: false);
        table.Add("events acknowledged (exec, exit, hooks)", f.EventsPerSecond, "/s", 0, higherIsBetter: true, hasTarget: false);
        table.Add("3 gateways' CPU while ingesting", 100 * f.LoadCores, "% core", 0, higherIsBetter: false, hasTarget: false);
        table.Add("gateway CPU per event", f.EventsPerSecond > 0 ? 1e6 * f.LoadCores / f.EventsPerSecond : 0, "µs", 0, higherIsBetter: false, hasTarget: false);
        table.Add("send -> journal p99 (exec, exit sent while ingesting, before the kill)", f.SendToJournalP99.TotalSeconds, "s", 2, higherIsBetter: false, orEqual: true);
        table.Add($"GetLineage p99 while ingesting ({f.LineageQueries:N0} queries)", f.LineageP99.TotalMilliseconds, "ms", 0, higherIsBetter: false, hasTarget: false);
        table.Add("GetLineage queries failed (Unavailable, deadline)", f.LineageFailed, "", 0, higherIsBetter: false, hasTarget: false);
        table.Add("kill -9 of a gateway -> every collector delivering again", f.DeliveringAgain.TotalSeconds, "s", 10, higherIsBetter: false, orEqual: true);
        if (f.Reconnects.Count > 0)
            output.WriteLine($"fleet simulation: {f.Reconnects.Count} collectors lost their gateway; streams again after " +
                             $"min {f.Reconnects[0]:N2} s, p50 {f.Reconnects[f.Reconnects.Count / 2]:N2} s, max {f.Reconnects[^1]:N2} s (jittered, not at once)");
        output.WriteLine($"fleet simulation ends; {FleetSimulation.LoadAverage()} (the machine is shared: a load above its {Environment.ProcessorCount} cores slows every figure here)");
        table.Add($"journal bytes per stored exec/exit (table with indexes, {f.Stored.StoredEvents:N0} events)", f.Stored.JournalBytesPerEvent, "B", 0, higherIsBetter: false, hasTarget: false);
        table.Add($"history bytes per process row (table with indexes, {f.Stored.HistoryRows:N0} rows)", f.Stored.HistoryBytesPerProcess, "B", 0, higherIsBetter: false, hasTarget: false);
        table.Add($"exec/exit events lost (of {f.Sent:N0} sent)", f.Missing, "", 0, higherIsBetter: false, orEqual: true);
        table.Add("exec/exit events stored twice", f.Duplicated, "", 0, higherIsBetter: false, orEqual: true);
    }
}
