using Forkline.Contracts.Accounting;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;

namespace Forkline.Gateway.Accounting;

/// <summary>
/// A host entity's loss accounting: per collector run (producer id), the latest report and what the
/// gateway did with the run's events. Stored counts come from the journal itself (recovery replays
/// them), so they are exact across restarts and shard moves. Owned by one entity; not thread-safe.
/// Holds the most recently active runs only, <see cref="DefaultCapacity"/> of them.
/// </summary>
public sealed class RunLedger(int capacity = RunLedger.DefaultCapacity)
{
    public const int DefaultCapacity = 64;

    private readonly Dictionary<string, Entry> _runs = [];

    public int Count => _runs.Count;

    /// <summary>exec / exit / clone events of a run that reached the journal.</summary>
    public void CountStored(string runId, int events, DateTime now) => EntryOf(runId, now).Stored += events;

    /// <summary>exec / exit / clone events of a run the gateway could not take.</summary>
    public void CountRejected(string runId, int events, DateTime now) => EntryOf(runId, now).Rejected += events;

    public void CountDuplicateReceipts(string runId, int events, DateTime now) => EntryOf(runId, now).DuplicateReceipts += events;

    /// <summary>Keeps the report unless the run already has a later one; false when it was older.</summary>
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

    public (long Stored, long Rejected) StoredAndRejected(string runId) =>
        _runs.TryGetValue(runId, out var entry) ? (entry.Stored, entry.Rejected) : (0, 0);

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
                Stored = (ulong)entry.Stored,
                Rejected = (ulong)entry.Rejected,
                DuplicateReceipts = (ulong)entry.DuplicateReceipts,
                LastActivityUnixTicks = WireConverter.ToUnixTicks(entry.LastActivity),
            };
            if (entry.Report is { } report) account.Report = RunReportWire.ToWire(report);
            accounts.Add(account);
        }
        return accounts;
    }

    public void Restore(IEnumerable<RunAccount> accounts)
    {
        _runs.Clear();
        foreach (var account in accounts)
        {
            var entry = EntryOf(account.RunId, WireConverter.FromUnixTicks(account.LastActivityUnixTicks));
            entry.Stored = (long)account.Stored;
            entry.Rejected = (long)account.Rejected;
            entry.DuplicateReceipts = (long)account.DuplicateReceipts;
            if (account.Report is { } report) entry.Report = RunReportWire.FromWire(report);
        }
    }

    private Entry EntryOf(string runId, DateTime now)
    {
        if (!_runs.TryGetValue(runId, out var entry))
        {
            if (_runs.Count >= capacity) EvictLeastRecentlyActive();
            _runs[runId] = entry = new Entry(runId);
        }
        if (now > entry.LastActivity) entry.LastActivity = now;
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
        public long Stored { get; set; }
        public long Rejected { get; set; }
        public long DuplicateReceipts { get; set; }
        public DateTime LastActivity { get; set; }
    }
}
