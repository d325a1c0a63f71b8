using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Forkline.Contracts.Api;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Api;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Forkline.Gateway.Tests.Api;

/// <summary>
/// Three API clients of one gateway's live events, end to end (forwarder, host entity, live hub, gRPC and
/// HTTP streams): one stops reading, one filters with a pattern that backtracks exponentially in a
/// backtracking engine against the names the processes take, one takes everything. Neither of the first
/// two holds the others back; what the stalled one missed is counted in <c>forkline_stream_dropped_total</c>
/// and told to it when it reads again. The pattern on a process query over those names is answered too.
/// A stalled stream of large events is held to its byte bound, with the same accounting.
/// </summary>
public sealed class StalledStreamTests(ITestOutputHelper output) : IDisposable
{
    private const int Backlog = 1_000;

    // Sent in chunks the reading clients take in whole before the next one, so their own queues never fill.
    private const int Chunk = 250;
    private const int Chunks = 12;

    // (a+)+$, which issue 13's hostile client sent; names of a's ending in '!' make a backtracking engine take 2^n steps.
    private const string HostileFilter = "(a%2B)%2B%24";
    private static readonly string HostileName = "/tmp/" + new string('a', 1_000) + "!";

    // Generous for a loaded machine: the finding this guards against was a marker 20.6 s late.
    private static readonly TimeSpan PromptDelivery = TimeSpan.FromSeconds(5);

    private readonly TestDatabase _data = new();
    private readonly SyntheticHost _watched = new("node-s");

    // Only the reading clients stream this host: once its event arrived at both, the hub has handed everything
    // sent before it to every queue (an entity acknowledges after publishing; the hub takes the topic in order).
    private readonly SyntheticHost _sync = new("node-t");
    private int _syncPid = 100;

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task A_client_that_stops_reading_or_filters_with_a_hostile_pattern_does_not_delay_the_others_and_its_misses_are_counted_and_told()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await using var api = await ApiServer.StartAsync(node.Queries, new ApiSettings
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Limits = new QueryLimits { StreamBacklog = Backlog },
        }, CancellationToken.None);
        // A connection each, as separate clients have: HTTP/2 flow control then holds back only the stalled one's stream.
        using var stalledChannel = GrpcChannel.ForAddress(api.GrpcAddress);
        using var readingChannel = GrpcChannel.ForAddress(api.GrpcAddress);
        using var http = new HttpClient { BaseAddress = api.HttpAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var stalled = new ForklineApi.ForklineApiClient(stalledChannel).StreamEvents(
            new StreamEventsRequest { Hosts = { _watched.Node } }, cancellationToken: cancel.Token);
        using var reading = new ForklineApi.ForklineApiClient(readingChannel).StreamEvents(new StreamEventsRequest(), cancellationToken: cancel.Token);
        var everything = Channel.CreateUnbounded<Received>();
        var filtered = Channel.CreateUnbounded<Received>();
        ChannelReader<Received>[] readers = [everything.Reader, filtered.Reader];
        var pumps = new[]
        {
            PumpAsync(reading.ResponseStream, everything.Writer, cancel.Token),
            PumpAsync(http, $"/api/v1/events?binary={HostileFilter}", filtered.Writer, cancel.Token),
        };

        // A stream subscribes when its call reaches the gateway: probe until each has an event (probes match
        // the pattern), then the stalled one stops reading.
        var init = _watched.NewProcess(1, null, "/sbin/init");
        await HostTreePersistenceTests.SendAsync(node, [_watched.Exec(init, null)]);
        var stalledFirst = stalled.ResponseStream.MoveNext(cancel.Token);
        var readersFirst = Task.WhenAll(readers.Select(reader => reader.ReadAsync(cancel.Token).AsTask()));
        for (var probe = 2; !(stalledFirst.IsCompleted && readersFirst.IsCompleted); probe++)
        {
            await Task.WhenAny(Task.WhenAll(stalledFirst, readersFirst), Task.Delay(200, cancel.Token));
            await HostTreePersistenceTests.SendAsync(node, [_watched.Exec(_watched.NewProcess(probe, init, "/bin/probe-a"), init)]);
        }
        Assert.True(await stalledFirst);
        await readersFirst;

        var missedByReaders = 0UL;
        for (var chunk = 0; chunk < Chunks; chunk++)
        {
            var execs = Enumerable.Range(1_000 + chunk * Chunk, Chunk)
                .Select(pid => (EnrichedEvent)_watched.Exec(_watched.NewProcess(pid, init, HostileName, "-C", $"/src/{pid}"), init));
            await HostTreePersistenceTests.SendAsync(node, execs);
            missedByReaders += await SyncAsync(node, readers, cancel.Token);
        }
        var droppedBeforeMarker = node.MetricsExport.Value("forkline_stream_dropped_total");

        var marker = _watched.NewProcess(9_999, init, "/bin/marker-a");
        var sent = Stopwatch.GetTimestamp();
        await HostTreePersistenceTests.SendAsync(node, [_watched.Exec(marker, init)]);
        var delays = new List<TimeSpan>();
        foreach (var reader in readers)
        {
            var (missed, at) = await ReadUntilAsync(reader, _watched.Node, marker.Pid, cancel.Token);
            missedByReaders += missed;
            delays.Add(Stopwatch.GetElapsedTime(sent, at));
        }
        missedByReaders += await SyncAsync(node, readers, cancel.Token);
        var dropped = node.MetricsExport.Value("forkline_stream_dropped_total");
        output.WriteLine($"marker after {delays[0].TotalMilliseconds:F0} ms (everything), {delays[1].TotalMilliseconds:F0} ms (hostile pattern); "
            + $"dropped for the stalled stream: {droppedBeforeMarker} before the marker, {dropped} in all");

        Assert.Equal(0UL, missedByReaders);
        Assert.All(delays, delay => Assert.True(delay < PromptDelivery, $"a reading client got the marker {delay.TotalSeconds:F1} s after it was sent"));
        Assert.True(droppedBeforeMarker > 0, "the stalled stream never fell behind: the test did not stall it");
        Assert.Equal(droppedBeforeMarker + 1, dropped);

        // Reading again, the stalled client is told how many it missed: all that were dropped, for it alone.
        var notice = await FirstNoticeAsync(stalled.ResponseStream, cancel.Token);
        Assert.Equal((ulong)dropped, notice.MissedEvents);
        Assert.Contains("rate_limit_info", notice.Json, StringComparison.Ordinal);

        // The same pattern on a query over the same names: an answer in linear time, not a 500.
        using var list = await http.GetAsync($"/api/v1/hosts/{_watched.Node}/processes?binary={HostileFilter}&live=true", cancel.Token);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var listed = JsonDocument.Parse(await list.Content.ReadAsStringAsync(cancel.Token)).RootElement.GetProperty("processes").EnumerateArray();
        Assert.Equal(["/bin/probe-a", "/bin/marker-a"], listed.Select(process => process.GetProperty("binary").GetString()).Distinct());

        await cancel.CancelAsync();
        await Task.WhenAll(pumps);
    }

    [Fact]
    public async Task A_stalled_stream_holds_events_up_to_its_byte_bound_and_the_rest_are_counted_and_told()
    {
        // Execs with 80 arguments of 100 bytes: their encoded size passes 8,000 bytes, so the bound holds 8 of them at most.
        const long byteBound = 64 * 1024;
        const int largeExecs = 40;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        var queries = node.Queries!;
        await using var stalled = await queries.SubscribeAsync(
            new EventStreamFilter(Hosts: new HashSet<string> { _watched.Node }), new StreamBacklog(Backlog, byteBound), cancel.Token);
        // Reads everything: once it has the last exec, the hub has offered every exec to the stalled stream too.
        await using var reading = await queries.SubscribeAsync(new EventStreamFilter(), cancel.Token);

        var init = _watched.NewProcess(1, null, "/sbin/init");
        var arguments = Enumerable.Repeat(new string('x', 100), 80).ToArray();
        var execs = new List<EnrichedEvent> { _watched.Exec(init, null) };
        for (var pid = 2; pid < 2 + largeExecs; pid++) execs.Add(_watched.Exec(_watched.NewProcess(pid, init, "/usr/bin/cc", arguments), init));
        await HostTreePersistenceTests.SendAsync(node, execs);
        for (var i = 0; i < execs.Count; i++) await reading.Events.ReadAsync(cancel.Token);

        var held = stalled.Events.Count;
        var dropped = (int)node.MetricsExport.Value("forkline_stream_dropped_total");
        output.WriteLine($"the stalled stream holds {held} of {execs.Count} execs; {dropped} dropped");
        Assert.InRange(held, 2, 1 + 8);
        Assert.Equal(execs.Count - held, dropped);
        await using var items = stalled.ReadAllAsync(cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.True(await items.MoveNextAsync());
        Assert.Equal(StreamItem.MissedEvents(dropped), items.Current);
        for (var pid = 1; pid <= held; pid++)
        {
            Assert.True(await items.MoveNextAsync());
            Assert.Equal(pid, items.Current.Event!.Process.Pid);
        }
    }

    /// <summary>An item of a reading client's stream: an exec (host and pid) or a count of missed events, and when it arrived.</summary>
    private readonly record struct Received(string Host, int Pid, ulong Missed, long At);

    /// <summary>Sends an event of the host only the reading clients stream and reads each up to it; returns the events their streams said they missed.</summary>
    private async Task<ulong> SyncAsync(GatewayNode node, ChannelReader<Received>[] readers, CancellationToken ct)
    {
        var process = _sync.NewProcess(++_syncPid, null, "/bin/sync-a");
        await HostTreePersistenceTests.SendAsync(node, [_sync.Exec(process, null)]);
        var missed = 0UL;
        foreach (var reader in readers) missed += (await ReadUntilAsync(reader, _sync.Node, process.Pid, ct)).Missed;
        return missed;
    }

    /// <summary>Reads up to the exec of <paramref name="pid"/> on <paramref name="host"/>: the events the stream said it missed meanwhile, and when that exec arrived.</summary>
    private static async Task<(ulong Missed, long At)> ReadUntilAsync(ChannelReader<Received> received, string host, int pid, CancellationToken ct)
    {
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
        patience.CancelAfter(TestNodes.Patience);
        var missed = 0UL;
        while (true)
        {
            var item = await received.ReadAsync(patience.Token);
            missed += item.Missed;
            if (item.Host == host && item.Pid == pid) return (missed, item.At);
        }
    }

    /// <summary>
    /// Reads a gRPC stream as fast as it comes; its end or failure (the test's own cancellation at its end
    /// too) completes the channel with it, so a reader sees why.
    /// </summary>
    private static async Task PumpAsync(IAsyncStreamReader<Event> stream, ChannelWriter<Received> received, CancellationToken ct)
    {
        try
        {
            while (await stream.MoveNext(ct))
            {
                var item = stream.Current;
                received.TryWrite(new Received(item.Host, item.Process?.Pid ?? 0, item.MissedEvents, Stopwatch.GetTimestamp()));
            }
            received.TryComplete();
        }
        catch (Exception e)
        {
            received.TryComplete(e);
        }
    }

    /// <summary>Reads an NDJSON stream of Tetragon lines as fast as it comes, as the gRPC pump does.</summary>
    private static async Task PumpAsync(HttpClient http, string path, ChannelWriter<Received> received, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, ct);
            response.EnsureSuccessStatusCode();
            using var lines = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await lines.ReadLineAsync(ct) is { } line)
            {
                var at = Stopwatch.GetTimestamp();
                var root = JsonDocument.Parse(line).RootElement;
                received.TryWrite(root.TryGetProperty("rate_limit_info", out var missed)
                    ? new Received("", 0, ulong.Parse(missed.GetProperty("number_of_dropped_process_events").GetString()!, CultureInfo.InvariantCulture), at)
                    : new Received(root.GetProperty("node_name").GetString()!, root.GetProperty("process_exec").GetProperty("process").GetProperty("pid").GetInt32(), 0, at));
            }
            received.TryComplete();
        }
        catch (Exception e)
        {
            received.TryComplete(e);
        }
    }

    private static async Task<Event> FirstNoticeAsync(IAsyncStreamReader<Event> stream, CancellationToken ct)
    {
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
        patience.CancelAfter(TestNodes.Patience);
        while (await stream.MoveNext(patience.Token))
            if (stream.Current.MissedEvents > 0) return stream.Current;
        throw new InvalidOperationException("the stalled stream ended without saying it missed events");
    }
}
