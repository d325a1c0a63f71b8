using System.Diagnostics;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Snapshots;
using Forkline.Forwarding;
using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Forkline.Testing;
using Microsoft.Data.Sqlite;

namespace Forkline.Gateway.Tests;

/// <summary>
/// The database fails under a running node (a real SQLite file: on a full tmpfs, locked by the sqlite3
/// command-line tool): one log line, a metric, not ready, events held up to the forwarder's bound and the
/// rest counted as dropped in the run's accounting, and the node recovers by itself when the fault clears.
/// </summary>
public sealed class StorageFaultTests : IDisposable
{
    private const int Bound = 640;
    private static readonly TimeSpan FaultPatience = TimeSpan.FromSeconds(90);

    private readonly TestDatabase _data = new();
    private readonly SyntheticHost _host = new("node-a");
    private readonly CapturingLogger _log = new();
    private int _nextChildPid = 1_000;

    public void Dispose() => _data.Dispose();

    [RootFact]
    public async Task A_full_data_directory_is_one_line_not_ready_holds_events_to_the_bound_counts_the_rest_as_dropped_and_recovers_when_space_returns()
    {
        using var tmpfs = Tmpfs.Mount(8 * 1024 * 1024);
        var sent = 0;
        await using (var node = await StartAsync(Settings() with { Database = new DatabaseSettings(), DataDirectory = tmpfs.Path }))
        {
            node.Forwarder!.ReportRun("node-a", () => UpstreamOf(sent));
            var (chain, init, _, _, _) = _host.ShellChain(100);
            sent += await SendAsync(node, chain);
            Assert.True(await node.Forwarder.FlushAsync(TestNodes.Patience), "stored while there is space");

            tmpfs.Fill();
            // SQLite writes into space its files already hold (a write-ahead log reused after a checkpoint, the rest of a
            // file system page) before it needs a new block, so children keep coming until the journal meets the full disk.
            // The history projection may find the disk full first; the journal's failure is the one that holds events back.
            var deadline = DateTime.UtcNow + FaultPatience;
            while (node.MetricsExport.Value("forkline_store_faults_total", "journal", "full") < 1)
            {
                if (DateTime.UtcNow > deadline)
                    throw new TimeoutException($"the journal's write never failed on the full disk within {FaultPatience.TotalSeconds} s; {await StorageMetricsAsync(node)}");
                sent += await SendAsync(node, Children(init, 3_000));
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
            Assert.False(node.Store.Writable);
            Assert.False(node.IsReady);
            var dropped = node.MetricsExport.Value("forkline_forward_dropped_total", "exec", "buffer_full");
            Assert.True(dropped > 0, "past the forwarder's bound, events are dropped and counted");

            tmpfs.Free();
            await TestNodes.EventuallyAsync(() => Task.FromResult(node.Store.Writable), "the store takes writes again once there is space", FaultPatience);
            Assert.True(await node.Forwarder.FlushAsync(FaultPatience), "what the forwarder held is stored after the fault");
            Assert.True(node.IsReady);
            Assert.True(await node.Forwarder.ReportFinalAsync(TestNodes.Patience));

            var run = Assert.Single(await node.Queries!.GetHostStatsAsync("node-a", CancellationToken.None));
            Assert.Equal((long)dropped, run.Report!.Forward.DroppedFull);
            Assert.Equal(sent - (long)dropped, run.Gateway.Stored);
            Assert.True(run.Balance!.Value.Balanced, $"every event is stored or counted as dropped: {run.Balance}");
            await TestNodes.EventuallyAsync(() => Task.FromResult(node.MetricsExport.Value("forkline_projection_events_total") == run.Gateway.Stored),
                "the history catches up with the journal", FaultPatience);
        }
        AssertOneFaultLineAndOneRecoveryLine("full", "free space there");
    }

    [Fact]
    public async Task A_database_locked_by_another_process_is_one_line_not_ready_and_the_held_events_are_stored_once_the_lock_ends()
    {
        var sent = 0;
        await using (var node = await StartAsync(Settings()))
        {
            node.Forwarder!.ReportRun("node-a", () => UpstreamOf(sent));
            var (chain, init, _, _, _) = _host.ShellChain(100);
            sent += await SendAsync(node, chain);
            Assert.True(await node.Forwarder.FlushAsync(TestNodes.Patience));

            using (var holder = await SqliteLockHolder.StartAsync(new SqliteConnectionStringBuilder(_data.Settings.ConnectionString).DataSource))
            {
                sent += await SendAsync(node, Children(init, 200));
                // The history projection may meet the lock first (it applies the chain late on a loaded machine); the
                // journal meets it with the children's batches, which the forwarder sends again until they are taken.
                await TestNodes.EventuallyAsync(() => Task.FromResult(!node.Store.Writable
                        && node.MetricsExport.Value("forkline_store_faults_total", "journal", "locked") + node.MetricsExport.Value("forkline_store_faults_total", "journal", "timeout")
                        + node.MetricsExport.Value("forkline_store_faults_total", "journal", "unavailable") >= 1),
                    "the store reports the locked database, and the journal's writes count as its faults", FaultPatience);
                Assert.False(node.IsReady);
            }

            Assert.True(await node.Forwarder.FlushAsync(FaultPatience), "what the forwarder held is stored once the lock ends");
            Assert.True(node.Store.Writable);
            Assert.True(node.IsReady);
            Assert.True(await node.Forwarder.ReportFinalAsync(TestNodes.Patience));
            var run = Assert.Single(await node.Queries!.GetHostStatsAsync("node-a", CancellationToken.None));
            Assert.Equal(0, run.Report!.Forward.DroppedFull);
            Assert.Equal(sent, run.Gateway.Stored);
            Assert.True(run.Balance!.Value.Balanced, $"{run.Balance}");
        }
        AssertOneFaultLineAndOneRecoveryLine("", "another process");
    }

    [Fact]
    public void A_write_to_a_read_only_database_is_a_read_only_fault_naming_the_fix()
    {
        using (var create = new SqliteConnection(_data.Settings.ConnectionString))
        {
            create.Open();
            using var table = create.CreateCommand();
            table.CommandText = "CREATE TABLE t (x INTEGER)";
            table.ExecuteNonQuery();
        }
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_data.Settings.ConnectionString) { Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO t VALUES (1)";

        var fault = StoreFault.Of(new AggregateException(Assert.Throws<SqliteException>(() => insert.ExecuteNonQuery())));

        Assert.Equal("read_only", fault.Cause);
        Assert.Contains("make it writable", fault.Remedy);
        Assert.DoesNotContain('\n', fault.Problem);
    }

    private void AssertOneFaultLineAndOneRecoveryLine(string cause, string remedy)
    {
        var messages = _log.ToList();
        var fault = Assert.Single(messages, m => m.Contains("cannot be written", StringComparison.Ordinal));
        Assert.Contains(cause, fault);
        Assert.Contains(remedy, fault);
        Assert.DoesNotContain('\n', fault);
        Assert.Single(messages, m => m.Contains("takes writes again", StringComparison.Ordinal));
        Assert.DoesNotContain(messages, m => m.Contains("Failed to persist", StringComparison.Ordinal) || m.Contains("   at ", StringComparison.Ordinal));
    }

    private GatewaySettings Settings() => TestNodes.Settings(_data) with
    {
        Forwarder = new ForwarderSettings
        {
            BatchSize = 64, FlushInterval = TimeSpan.FromMilliseconds(20), MaxBufferedEvents = Bound,
            AckTimeout = TimeSpan.FromSeconds(1), MaxRetryInterval = TimeSpan.FromSeconds(1),
        },
    };

    private async Task<GatewayNode> StartAsync(GatewaySettings settings)
    {
        var node = await GatewayNode.StartAsync(settings, _log);
        await node.WaitUntilUpAsync(TestNodes.Patience);
        return node;
    }

    private List<EnrichedEvent> Children(ProcessSnapshot parent, int count)
    {
        var events = new List<EnrichedEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var pid = _nextChildPid++;
            events.Add(_host.Exec(_host.NewProcess(pid, parent, "/bin/true", "--child", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)), parent));
        }
        return events;
    }

    /// <summary>The node's store and forwarder series, as /metrics shows them: what a failure message needs to be understood.</summary>
    private static async Task<string> StorageMetricsAsync(GatewayNode node)
    {
        using var text = new MemoryStream();
        await node.MetricsExport.WriteAsync(text, CancellationToken.None);
        var lines = new List<string>();
        foreach (var line in System.Text.Encoding.UTF8.GetString(text.ToArray()).Split('\n'))
            if (line.StartsWith("forkline_store_", StringComparison.Ordinal) || line.StartsWith("forkline_forward_", StringComparison.Ordinal)) lines.Add(line);
        return $"writable {node.Store.Writable}: " + string.Join("; ", lines);
    }

    private static Task<int> SendAsync(GatewayNode node, List<EnrichedEvent> events)
    {
        foreach (var enriched in events) node.Forwarder!.OnEnriched(enriched);
        node.Forwarder!.OnBatchEnd();
        return Task.FromResult(events.Count);
    }

    private static UpstreamCounts UpstreamOf(int events) => new("node-a", "test", DateTime.UtcNow,
        new SourceCounts(Produced: events, Bootstrapped: 0, Lost: 0, Discarded: 0, Malformed: 0, Delivered: events),
        new PipelineCounts(Received: events, Discarded: 0, Withheld: 0, GaveUpWaiting: 0, Waiting: 0, Published: events, SinkFailures: 0));

    /// <summary>The sqlite3 command-line tool holding the database's write lock (BEGIN EXCLUSIVE) until disposed.</summary>
    private sealed class SqliteLockHolder : IDisposable
    {
        private readonly Process _sqlite;

        private SqliteLockHolder(Process sqlite) => _sqlite = sqlite;

        public static async Task<SqliteLockHolder> StartAsync(string file)
        {
            var start = new ProcessStartInfo("sqlite3") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(file);
            var sqlite = Process.Start(start) ?? throw new InvalidOperationException("could not start sqlite3");
            await sqlite.StandardInput.WriteAsync(".timeout 10000\nBEGIN EXCLUSIVE;\nSELECT 'held';\n");
            await sqlite.StandardInput.FlushAsync();
            var line = await sqlite.StandardOutput.ReadLineAsync().WaitAsync(TestNodes.Patience);
            if (line != "held") throw new InvalidOperationException($"sqlite3 did not take the lock: {line} {await sqlite.StandardError.ReadToEndAsync()}");
            return new SqliteLockHolder(sqlite);
        }

        public void Dispose()
        {
            _sqlite.StandardInput.WriteLine("COMMIT;");
            _sqlite.StandardInput.Close();
            _sqlite.WaitForExit();
            _sqlite.Dispose();
        }
    }
}
