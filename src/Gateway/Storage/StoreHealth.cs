using System.Diagnostics.Metrics;
using Forkline.Gateway.Telemetry;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Storage;

/// <summary>
/// Whether this node's database takes writes, as its writers (the host entities' journal, their
/// snapshots, the history projection) last found it. The first failure logs one line naming the
/// cause and the fix, later ones are only counted (<c>forkline_store_faults_total</c>) until a write
/// succeeds again, which logs one line too. Meanwhile the forwarder keeps the unacknowledged events
/// (up to its bound, then counts them as dropped) and sends them again, and /readyz answers not ready.
/// Shared by the node's actors, so its state is one interlocked flag.
/// </summary>
public sealed class StoreHealth
{
    private readonly string _database;
    private readonly ILogger _log;
    private readonly Counter<long> _faults;
    private readonly Gauge<long> _writable;
    private int _failing;
    private long _faultsWhileFailing;
    private DateTime _failingSince;

    public StoreHealth(string database, ILogger log, IMeterFactory meters)
    {
        _database = database;
        _log = log;
        var meter = meters.Create(GatewayMetrics.MeterName);
        _faults = meter.CreateCounter<long>("forkline_store_faults_total", description:
            "Database writes (and reads at an entity's recovery) that failed, by writer (journal, recovery, snapshot, history) and cause (full, read_only, locked, timeout, io_error, unreachable, unavailable, other).");
        _writable = meter.CreateGauge<long>("forkline_store_writable", description:
            "1 while the node's database takes writes, 0 from a failed write until the next one succeeds.");
        _writable.Record(1);
    }

    /// <summary>No write failed since the last one that succeeded.</summary>
    public bool Writable => Volatile.Read(ref _failing) == 0;

    /// <param name="writer">journal, recovery, snapshot or history.</param>
    public StoreFault Failed(string writer, Exception cause)
    {
        var fault = StoreFault.Of(cause);
        _faults.Add(1, new KeyValuePair<string, object?>("writer", writer), new KeyValuePair<string, object?>("cause", fault.Cause));
        Interlocked.Increment(ref _faultsWhileFailing);
        if (Interlocked.Exchange(ref _failing, 1) == 0)
        {
            _failingSince = DateTime.UtcNow;
            _writable.Record(0);
            // Only a failure no database change would mend (a bug) keeps its stack trace.
            _log.LogError(fault.IsStorage ? null : cause,
                "the database {Database} cannot be written ({Writer}: {Problem}) — {Remedy}; events wait in the forwarder and are sent again, those past its bound are counted as dropped (forkline stats); see forkline_store_faults_total",
                _database, writer, fault.Problem, fault.Remedy);
        }
        return fault;
    }

    /// <summary>A write went through: after a fault, one line says the database is back.</summary>
    public void Wrote()
    {
        if (Volatile.Read(ref _failing) == 0 || Interlocked.Exchange(ref _failing, 0) == 0) return;
        _writable.Record(1);
        var failed = Interlocked.Exchange(ref _faultsWhileFailing, 0);
        _log.LogInformation("the database {Database} takes writes again after {Seconds:F0} s ({Failed} failed writes meanwhile); held events follow",
            _database, (DateTime.UtcNow - _failingSince).TotalSeconds, failed);
    }
}
