using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Forkline.Contracts.Wire;
using Microsoft.Data.Sqlite;

namespace Forkline.Benchmarks;

/// <summary>
/// Reads an observer's stdout through a pipe on a thread of its own, stamping each line's arrival with
/// the wall clock (DateTime.UtcNow: CLOCK_REALTIME), and keeps the exec lines. Also notes when the
/// first line of all arrived and the observer's CPU time at that moment (its start-up).
/// </summary>
internal sealed class StdoutRecorder
{
    private readonly ObserverProcess _process;
    private readonly string _execPrefix;
    private readonly List<(long ArrivalTicks, string Line)> _execs = [];
    private readonly Thread _thread;

    /// <param name="execPrefix">How an exec line starts: `{"kind":"exec"` (collector) or `{"process_exec"` (run).</param>
    public StdoutRecorder(ObserverProcess process, string execPrefix)
    {
        _process = process;
        _execPrefix = execPrefix;
        _thread = new Thread(Read) { Name = "cost-stdout-" + process.Pid, IsBackground = true };
        _thread.Start();
    }

    /// <summary>From the process's start to its first line on stdout (null before that line).</summary>
    public TimeSpan? FirstLine { get; private set; }

    /// <summary>The process's CPU time (all threads) when its first line arrived.</summary>
    public TimeSpan FirstLineCpu { get; private set; }

    public int ExecLines
    {
        get
        {
            lock (_execs) return _execs.Count;
        }
    }

    /// <summary>The exec lines received so far, with their arrival (UTC ticks).</summary>
    public List<(long ArrivalTicks, string Line)> Execs()
    {
        lock (_execs) return [.. _execs];
    }

    private void Read()
    {
        try
        {
            while (_process.StandardOutput.ReadLine() is { } line)
            {
                var arrival = DateTime.UtcNow.Ticks;
                if (FirstLine is null)
                {
                    FirstLine = Stopwatch.GetElapsedTime(_process.Started);
                    FirstLineCpu = TimeSpan.FromSeconds(ProcFs.CpuTicks(_process.Pid) / (double)ProcFs.TicksPerSecond);
                }
                if (!line.StartsWith(_execPrefix, StringComparison.Ordinal)) continue;
                lock (_execs) _execs.Add((arrival, line));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // the observer ended (or /proc lost it at its first line); the figures notice
        }
    }
}

/// <summary>
/// The storm's exec and exit events in a gateway's SQLite journal (`run`'s, or the pair's gateway), read
/// as rows are added. Each journal row (manifest "jh") is one HostEventsPersisted: the new events of one
/// batch a host entity accepted, serialized as protobuf.
/// </summary>
/// <remarks>
/// Kernel -> journal compares, per exec event, the row's <c>created</c> column — DateTime.UtcNow.Ticks of
/// the gateway process, stamped by Akka.Persistence.Sql when it turned the write into a row, just before
/// its INSERT (the row being there means it committed; the commit itself, at most one batched INSERT
/// later, is not in the figure) — with the event's <c>time_unix_ticks</c>: the exec's kernel timestamp
/// (CLOCK_BOOTTIME ktime) converted to wall time by the collector. All processes share this machine's clock.
/// </remarks>
internal sealed class JournalTail(string database)
{
    private readonly List<(long CreatedTicks, WireEvent Event)> _events = [];
    private long _ordering;

    /// <summary>Reads the rows added since the last call; keeps the events of storm processes.</summary>
    public async Task ReadAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        try
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT ordering, created, message FROM journal WHERE ordering > @after AND manifest = 'jh' ORDER BY ordering";
            command.Parameters.AddWithValue("@after", _ordering);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                _ordering = reader.GetInt64(0);
                var created = reader.GetInt64(1);
                foreach (var wire in HostEventsPersisted.Parser.ParseFrom((byte[])reader.GetValue(2)).Events)
                    if (wire.Kind is WireEventKind.Exec or WireEventKind.Exit && wire.Process?.Binary == CostLatency.StormBinary)
                        _events.Add((created, wire));
            }
        }
        catch (SqliteException)
        {
            // no database or no journal table yet: nothing stored yet
        }
    }

    /// <summary>The stored events of <paramref name="kind"/> of the processes the storm driver <paramref name="stormPid"/> started.</summary>
    public int Count(int stormPid, WireEventKind kind) => _events.Count(e => e.Event.Kind == kind && e.Event.Parent?.Pid == stormPid);

    /// <summary>Kernel -> journal, in ms, of the storm's exec events (see the remarks).</summary>
    public List<double> ExecMilliseconds(int stormPid) =>
        _events.Where(e => e.Event.Kind == WireEventKind.Exec && e.Event.Parent?.Pid == stormPid)
            .Select(e => (e.CreatedTicks - (DateTime.UnixEpoch.Ticks + e.Event.TimeUnixTicks)) / (double)TimeSpan.TicksPerMillisecond)
            .ToList();
}

/// <summary>
/// Latencies of the storm's exec events, from the kernel's timestamp to where the observer put them.
/// The storm's processes are found by binary (/bin/true) and parent (the storm driver's pid).
/// </summary>
internal static class CostLatency
{
    public const string StormBinary = "/bin/true";

    /// <summary>
    /// Kernel -> stdout, in ms, of the exec lines of the storm whose driver had pid <paramref name="stormPid"/>:
    /// arrival of the line here (CLOCK_REALTIME, stamped by <see cref="StdoutRecorder"/>) minus the line's
    /// "time", which is the exec's kernel timestamp (CLOCK_BOOTTIME ktime) converted to wall time by the
    /// observer. Both JSON shapes: `collector --json` (kind, time, filename, parent.pid) and `run --json`
    /// (Tetragon's process_exec.process.binary, process_exec.parent.pid, time).
    /// </summary>
    public static List<double> StdoutMilliseconds(IEnumerable<(long ArrivalTicks, string Line)> lines, int stormPid)
    {
        var latencies = new List<double>();
        foreach (var (arrival, line) in lines)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            string? binary;
            int parentPid;
            if (root.TryGetProperty("process_exec", out var exec))
            {
                binary = exec.GetProperty("process").GetProperty("binary").GetString();
                parentPid = exec.TryGetProperty("parent", out var parent) ? parent.GetProperty("pid").GetInt32() : 0;
            }
            else
            {
                binary = root.GetProperty("filename").GetString();
                parentPid = root.TryGetProperty("parent", out var parent) ? parent.GetProperty("pid").GetInt32() : 0;
            }
            if (binary != StormBinary || parentPid != stormPid) continue;
            latencies.Add((arrival - ParseTime(root.GetProperty("time").GetString()!).Ticks) / (double)TimeSpan.TicksPerMillisecond);
        }
        return latencies;
    }

    /// <summary>RFC 3339 UTC with up to 9 fractional digits (Tetragon's shape); .NET keeps 7.</summary>
    public static DateTime ParseTime(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = text.IndexOf('Z', dot);
            var fraction = text[(dot + 1)..end];
            text = text[..(dot + 1)] + (fraction.Length > 7 ? fraction[..7] : fraction) + "Z";
        }
        return DateTime.ParseExact(text, ["yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", "yyyy-MM-ddTHH:mm:ssZ"], CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
    }

    /// <summary>Nearest-rank percentile (0..100) of the values.</summary>
    public static double Percentile(List<double> values, double percentile)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = new List<double>(values);
        sorted.Sort();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
