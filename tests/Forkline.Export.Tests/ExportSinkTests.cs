using System.Text;
using System.Text.Json;
using Forkline.Contracts.Identity;
using Forkline.Export;
using Forkline.Export.Tests.Tetragon;
using Forkline.Testing;
using static Forkline.Export.Tests.SampleEvents;

namespace Forkline.Export.Tests;

public sealed class ExportSinkTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("forkline-sink-").FullName;
    private readonly CapturingLogger _diagnostics = new();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Sink_writes_the_events_its_filter_passes_in_order_and_flushes_on_dispose()
    {
        var stdout = new MemoryStream();
        var sink = ExportSink.Create(new ExportOptions { Filter = new EventFilterOptions { Pids = [300] } }, _diagnostics, stdout);

        sink.OnEnriched(Exec());
        sink.OnEnriched(Exec(Sh));
        sink.OnEnriched(Exit(status: 1));
        await sink.DisposeAsync();

        Assert.Equal(
            "12:00:01.250 exec   pid=300 /usr/bin/sleep 0.2\n12:00:01.250 exit   pid=300 /usr/bin/sleep 0.2 status=1\n",
            Encoding.UTF8.GetString(stdout.ToArray()));
        Assert.Equal(new ExportStatistics(Written: 2, Dropped: 0, Failed: 0), sink.Statistics);
        Assert.Equal("", _diagnostics.ToString());
    }

    [Fact]
    public async Task Json_to_a_rotated_file_writes_one_parsable_line_per_event_across_files()
    {
        var path = Path.Combine(_directory, "events.json");
        var sink = ExportSink.Create(new ExportOptions
        {
            Format = ExportFormat.Json,
            Fields = FieldSelection.Include("process.exec_id"),
            FilePath = path,
            MaxFileBytes = 300,
            KeepFiles = 10,
        }, _diagnostics);

        for (var pid = 1; pid <= 20; pid++)
            sink.OnEnriched(Exec(Sleep with { Pid = pid, ExecId = new ExecId(Node, 3_000, pid) }));
        await sink.DisposeAsync();

        var oldestFirst = Directory.GetFiles(_directory).OrderByDescending(RotationIndex);
        var lines = oldestFirst.SelectMany(File.ReadAllLines).ToArray();
        Assert.All(lines, StrictProtojson.AssertReads);
        var pids = lines
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("process_exec").GetProperty("process").GetProperty("exec_id").GetString()!)
            .Select(execId => ExecId.Decode(execId).Pid)
            .ToArray();
        Assert.Equal(Enumerable.Range(1, 20), pids);
        Assert.True(Directory.GetFiles(_directory).Length > 1);
        Assert.All(Directory.GetFiles(_directory), file => Assert.InRange(new FileInfo(file).Length, 1, 300));
    }

    [Fact]
    public async Task Events_that_find_the_queue_full_are_dropped_counted_and_reported_at_dispose_without_blocking_the_caller()
    {
        var output = new GatedOutput();
        var sink = new ExportSink(new CompactFormatter(), output, _diagnostics, queueCapacity: 2);

        sink.OnEnriched(Exec());
        sink.OnBatchEnd();
        Assert.True(output.Writing.Wait(Patience), "the writer never took the first event");
        for (var i = 0; i < 10; i++) sink.OnEnriched(Exit());

        Assert.Equal(8, sink.Statistics.Dropped);
        output.Release.Set();
        await sink.DisposeAsync();

        Assert.Equal(new ExportStatistics(Written: 3, Dropped: 8, Failed: 0), sink.Statistics);
        Assert.Equal(3, output.Lines.Count);
        Assert.True(output.Disposed);
        Assert.Contains("dropped 8 events because the output did not keep up (queue of 2)", _diagnostics.ToString());
    }

    [Fact]
    public async Task Events_after_dispose_are_counted_as_dropped()
    {
        var sink = new ExportSink(new CompactFormatter(), new StreamExportOutput(new MemoryStream()), _diagnostics);
        await sink.DisposeAsync();

        sink.OnEnriched(Exec());

        Assert.Equal(1, sink.Statistics.Dropped);
    }

    [Fact]
    public async Task A_failed_write_is_counted_and_reported_and_later_events_are_still_written()
    {
        var output = new GatedOutput { FailFirstWrite = true };
        output.Release.Set();
        var sink = new ExportSink(new CompactFormatter(), output, _diagnostics);

        sink.OnEnriched(Exec());
        sink.OnEnriched(Exit());
        await sink.DisposeAsync();

        Assert.Equal(new ExportStatistics(Written: 1, Dropped: 0, Failed: 1), sink.Statistics);
        Assert.Contains(" exit ", output.Lines.Single());
        var report = _diagnostics.ToString();
        Assert.Contains("Exec event of pid 300 (/usr/bin/sleep) not exported: disk full", report);
        Assert.Contains("1 events or flushes failed", report);
    }

    [Fact]
    public void Sink_accepts_events_from_many_threads_at_once()
    {
        var stdout = new MemoryStream();
        var sink = ExportSink.Create(new ExportOptions { QueueCapacity = 100_000 }, _diagnostics, stdout);

        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 1_000; i++) sink.OnEnriched(Exec());
        });
        sink.Dispose();

        Assert.Equal(8_000, sink.Statistics.Written);
        Assert.Equal(8_000, Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    // events.json is the newest (0), events.json.1 the one before, and so on.
    private static int RotationIndex(string file) =>
        Path.GetExtension(file) is var extension && int.TryParse(extension.AsSpan(1), out var index) ? index : 0;

    /// <summary>An output whose writes wait for <see cref="Release"/>, to hold the writer task still.</summary>
    private sealed class GatedOutput : IExportOutput
    {
        private bool _failed;

        public ManualResetEventSlim Writing { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public List<string> Lines { get; } = [];

        public bool FailFirstWrite { get; init; }

        public bool Disposed { get; private set; }

        public void WriteLine(ReadOnlySpan<byte> line)
        {
            Writing.Set();
            Release.Wait(Patience);
            if (FailFirstWrite && !_failed)
            {
                _failed = true;
                throw new IOException("disk full");
            }
            Lines.Add(Encoding.UTF8.GetString(line));
        }

        public void Flush()
        {
        }

        public void Dispose() => Disposed = true;
    }
}
