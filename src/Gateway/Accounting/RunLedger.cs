using Forkline.Contracts.Accounting;
using Forkline.Contracts.History;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Accounting;

/// <summary>
/// A host entity's loss accounting: per collector run (producer id), the latest report and what the
/// gateway did with the run's events. The counts come from the journal itself (recovery replays
/// them), so they are exact across restarts and shard moves. Owned by one entity; not thread-safe.
/// Holds the most recently active runs only, <see cref="DefaultCapacity"/> of them.
/// </summary>
public sealed class RunLedger(int capacity = RunLedger.DefaultCapacity)
{
    public const int DefaultCapacity = 64;

    private readonly Dictionary<string, Entry> _runs = [];

    /// <summary>Adds what the gateway did with a batch of the run's events (live, or replayed from the journal).</summary>
    public void Count(string runId, GatewayCounts counts, DateTime at)
    {
        var entry = EntryOf(runId, at);
        entry.Gateway += counts;
    }

    public GatewayCounts GatewayCountsOf(string runId) => _runs.TryGetValue(runId, out var entry) ? entry.Gateway : default;

    /// <summary>Keeps the report unless the run already has a later or a final one; false when it was kept out.</summary>
    public bool Record(RunReport report, DateTime now)
    {
        var entry = EntryOf(report.RunId, now);
        if (entry.Report is { } known && (known.Seq > report.Seq || known.Final)) return false;
        entry.Report = report;
        return true;
    }

    /// <summary>
    /// A run that sent no final report is found ended by the start of <paramref name="foundBy"/>: every
    /// such run other than that one, marked crashed, most recently active first.
    /// </summary>
    public List<string> Unfinished(string foundBy)
    {
        var entries = new List<Entry>();
        foreach (var entry in _runs.Values)
            if (entry.RunId.Length > 0 && entry.RunId != foundBy && entry.Crash is null && entry.Report is not { Final: true }) entries.Add(entry);
        entries.Sort((a, b) => b.LastActivity.CompareTo(a.LastActivity));
        return entries.ConvertAll(e => e.RunId);
    }

    /// <summary>
    /// The most recently active run other than <paramref name="runId"/> and its last activity (its last
    /// stored event or report: the last moment it is known to have watched), or null.
    /// </summary>
    public (string RunId, DateTime LastActivity)? LatestOtherThan(string runId)
    {
        Entry? latest = null;
        foreach (var entry in _runs.Values)
            if (entry.RunId.Length > 0 && entry.RunId != runId && (latest is null || entry.LastActivity > latest.LastActivity)) latest = entry;
        return latest is null ? null : (latest.RunId, latest.LastActivity);
    }

    public void MarkCrashed(string runId, string foundBy, DateTime at) => EntryOf(runId, DateTime.MinValue).Crash = new RunCrash(foundBy, at);

    /// <summary>
    /// What a report counts lost beyond what its run's earlier gaps hold, as gaps (none, one or two): ring losses
    /// from the run's previous report (or its latest ring-loss gap, or its start) to this report; events its
    /// forwarder dropped from the first of them (or the end of its latest such gap) to the last.
    /// </summary>
    public List<HostGap> LossGaps(string host, RunReport report)
    {
        var gaps = new List<HostGap>(0);
        _runs.TryGetValue(report.RunId, out var entry);
        var lost = (ulong)Math.Max(0, report.Source.Lost + report.Source.Discarded);
        var recordedLost = entry?.LostInGaps ?? 0;
        if (lost > recordedLost)
        {
            var from = report.StartedUtc;
            if (entry?.LastGapEnd is { } lastGap && lastGap > from) from = lastGap;
            if (entry?.Report is { } previous && previous.Seq < report.Seq && previous.ReportedUtc > from) from = previous.ReportedUtc;
            gaps.Add(new HostGap(host, from, report.ReportedUtc, HostGapReason.RingLoss, report.RunId, "", lost - recordedLost));
        }
        var dropped = (ulong)Math.Max(0, report.Forward.Dropped);
        var recordedDropped = entry?.DroppedInGaps ?? 0;
        if (dropped > recordedDropped && report.Forward.LastDropped is { } lastDropped)
        {
            // Events dropped since the run's latest such gap were dropped after the report that counted it, whose last drop ended it.
            var from = report.Forward.FirstDropped ?? lastDropped;
            if (entry?.LastDropGapEnd is { } lastGap && lastGap > from) from = lastGap;
            gaps.Add(new HostGap(host, from < lastDropped ? from : lastDropped, lastDropped, HostGapReason.ForwarderDropped, report.RunId, "",
                dropped - recordedDropped));
        }
        return gaps;
    }

    /// <summary>A gap of records lost while the run watched, in the journal: a later report does not count them again.</summary>
    public void NoteGap(HostGap gap)
    {
        if (!gap.WhileWatching) return;
        var entry = EntryOf(gap.RunId, DateTime.MinValue);
        if (gap.Reason == HostGapReason.ForwarderDropped)
        {
            entry.DroppedInGaps += gap.LostRecords;
            if (entry.LastDropGapEnd is not { } dropEnd || gap.To > dropEnd) entry.LastDropGapEnd = gap.To;
            return;
        }
        entry.LostInGaps += gap.LostRecords;
        if (entry.LastGapEnd is not { } end || gap.To > end) entry.LastGapEnd = gap.To;
    }

    public bool TryGetReport(string runId, out RunReport? report)
    {
        report = _runs.TryGetValue(runId, out var entry) ? entry.Report : null;
        return report is not null;
    }

    /// <summary>Every run, most recently active first, in wire form (queries and snapshots).</summary>
    public List<RunAccount> ToWire()
    {
        var entries = new List<Entry>(_runs.Values);
        entries.Sort((a, b) => b.LastActivity.CompareTo(a.LastActivity));
        var accounts = new List<RunAccount>(entries.Count);
        foreach (var entry in entries)
        {
            var account = new RunAccount
            {
                RunId = entry.RunId,
                Stored = (ulong)entry.Gateway.Stored,
                AlreadyStored = (ulong)entry.Gateway.AlreadyStored,
                Rejected = (ulong)entry.Gateway.Rejected,
                ResentReceipts = (ulong)entry.Gateway.ResentReceipts,
                LastActivityUnixTicks = WireConverter.ToUnixTicks(entry.LastActivity),
            };
            if (entry.Report is { } report) account.Report = RunReportWire.ToWire(report);
            if (entry.Crash is { } crash)
            {
                account.Crashed = true;
                account.CrashFoundBy = crash.FoundBy;
                account.CrashFoundUnixTicks = WireConverter.ToUnixTicks(crash.At);
            }
            account.LostInGaps = entry.LostInGaps;
            if (entry.LastGapEnd is { } gapEnd) account.LastGapEndUnixTicks = WireConverter.ToUnixTicks(gapEnd);
            account.DroppedInGaps = entry.DroppedInGaps;
            if (entry.LastDropGapEnd is { } dropGapEnd) account.LastDropGapEndUnixTicks = WireConverter.ToUnixTicks(dropGapEnd);
            accounts.Add(account);
        }
        return accounts;
    }

    public static GatewayCounts GatewayCountsOf(RunAccount account) =>
        new((long)account.Stored, (long)account.AlreadyStored, (long)account.Rejected, (long)account.ResentReceipts);

    public static RunCrash? CrashOf(RunAccount account) =>
        account.Crashed ? new RunCrash(account.CrashFoundBy, WireConverter.FromUnixTicks(account.CrashFoundUnixTicks)) : null;

    public void Restore(IEnumerable<RunAccount> accounts)
    {
        _runs.Clear();
        foreach (var account in accounts)
        {
            var entry = EntryOf(account.RunId, WireConverter.FromUnixTicks(account.LastActivityUnixTicks));
            entry.Gateway = GatewayCountsOf(account);
            if (account.Report is { } report) entry.Report = RunReportWire.FromWire(report);
            if (account.Crashed) entry.Crash = new RunCrash(account.CrashFoundBy, WireConverter.FromUnixTicks(account.CrashFoundUnixTicks));
            entry.LostInGaps = account.LostInGaps;
            if (account.LastGapEndUnixTicks != 0) entry.LastGapEnd = WireConverter.FromUnixTicks(account.LastGapEndUnixTicks);
            entry.DroppedInGaps = account.DroppedInGaps;
            if (account.LastDropGapEndUnixTicks != 0) entry.LastDropGapEnd = WireConverter.FromUnixTicks(account.LastDropGapEndUnixTicks);
        }
    }

    private Entry EntryOf(string runId, DateTime at)
    {
        if (!_runs.TryGetValue(runId, out var entry))
        {
            if (_runs.Count >= capacity) EvictLeastRecentlyActive();
            _runs[runId] = entry = new Entry(runId);
        }
        if (at > entry.LastActivity) entry.LastActivity = at;
        return entry;
    }

    private void EvictLeastRecentlyActive()
    {
        Entry? oldest = null;
        foreach (var entry in _runs.Values)
            if (oldest is null || entry.LastActivity < oldest.LastActivity) oldest = entry;
        if (oldest is not null) _runs.Remove(oldest.RunId);
    }

    private sealed class Entry(string runId)
    {
        public string RunId { get; } = runId;
        public RunReport? Report { get; set; }
        public GatewayCounts Gateway { get; set; }
        public DateTime LastActivity { get; set; }
        public RunCrash? Crash { get; set; }
        public ulong LostInGaps { get; set; }
        public DateTime? LastGapEnd { get; set; }
        public ulong DroppedInGaps { get; set; }
        public DateTime? LastDropGapEnd { get; set; }
    }
}

/// <summary>A run found ended without a final report, by the start of run <paramref name="FoundBy"/> at <paramref name="At"/>.</summary>
public sealed record RunCrash(string FoundBy, DateTime At);
