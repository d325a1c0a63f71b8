using Forkline.Contracts.Accounting;
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
            accounts.Add(account);
        }
        return accounts;
    }

    public static GatewayCounts GatewayCountsOf(RunAccount account) =>
        new((long)account.Stored, (long)account.AlreadyStored, (long)account.Rejected, (long)account.ResentReceipts);

    public void Restore(IEnumerable<RunAccount> accounts)
    {
        _runs.Clear();
        foreach (var account in accounts)
        {
            var entry = EntryOf(account.RunId, WireConverter.FromUnixTicks(account.LastActivityUnixTicks));
            entry.Gateway = GatewayCountsOf(account);
            if (account.Report is { } report) entry.Report = RunReportWire.FromWire(report);
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
    }
}
