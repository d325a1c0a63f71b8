using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Forkline.Contracts.Api;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Api;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;

namespace Forkline.Gateway.Tests.Api;

/// <summary>
/// Two API clients of one gateway's live events, end to end (forwarder, host entity, live hub, gRPC
/// stream): one stops reading, the other goes on. The stalled one cannot hold the other back; what it
/// missed is counted in <c>forkline_stream_dropped_total</c> and told to it when it reads again.
/// </summary>
public sealed class StalledStreamTests(ITestOutputHelper output) : IDisposable
{
    private const int Backlog = 1_000;

    // Sent in chunks the reading client takes in whole before the next one, so its own queue never fills.
    private const int Chunk = 250;
    private const int Chunks = 12;

    // Generous for a loaded machine: the finding this guards against was a marker 20.6 s late.
    private static readonly TimeSpan PromptDelivery = TimeSpan.FromSeconds(5);

    private readonly TestDatabase _data = new();
    private readonly SyntheticHost _watched = new("node-s");

    // Only the reading client streams this host: once its event arrives, the hub has handed everything
    // sent before it to both queues (one entity acknowledges after publishing; the hub takes the topic in order).
    private readonly SyntheticHost _sync = new("node-t");
    private int _syncPid = 100;

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task A_client_that_stops_reading_misses_events_counted_and_told_while_another_gets_a_marker_promptly()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var node = await TestNodes.StartAsync(TestNodes.Settings(_data));
        await using var api = await ApiServer.StartAsync(node.Queries, new ApiSettings
        {
            HttpEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            Limits = new QueryLimits { StreamBacklog = Backlog },
        }, CancellationToken.None);
        // Two connections, as two clients have: HTTP/2 flow control then holds back only the stalled one's stream.
        using var stalledChannel = GrpcChannel.ForAddress(api.GrpcAddress);
        using var readingChannel = GrpcChannel.ForAddress(api.GrpcAddress);
        using var stalled = new ForklineApi.ForklineApiClient(stalledChannel).StreamEvents(
            new StreamEventsRequest { Hosts = { _watched.Node } }, cancellationToken: cancel.Token);
        using var reading = new ForklineApi.ForklineApiClient(readingChannel).StreamEvents(new StreamEventsRequest(), cancellationToken: cancel.Token);
        var received = Channel.CreateUnbounded<(Event Event, long At)>();
        var pump = PumpAsync(reading.ResponseStream, received.Writer, cancel.Token);

        // A stream subscribes when its call reaches the gateway: probe until both have an event, then the stalled one stops reading.
        var init = _watched.NewProcess(1, null, "/sbin/init");
        await HostTreePersistenceTests.SendAsync(node, [_watched.Exec(init, null)]);
        var stalledFirst = stalled.ResponseStream.MoveNext(cancel.Token);
        var readingFirst = received.Reader.ReadAsync(cancel.Token).AsTask();
        for (var probe = 2; !(stalledFirst.IsCompleted && readingFirst.IsCompleted); probe++)
        {
            await Task.WhenAny(Task.WhenAll(stalledFirst, readingFirst), Task.Delay(200, cancel.Token));
            await HostTreePersistenceTests.SendAsync(node, [_watched.Exec(_watched.NewProcess(probe, init, "/bin/probe"), init)]);
        }
        Assert.True(await stalledFirst);

        var missedByReader = 0UL;
        for (var chunk = 0; chunk < Chunks; chunk++)
        {
            var first = 1_000 + chunk * Chunk;
            var execs = Enumerable.Range(first, Chunk).Select(pid => (EnrichedEvent)_watched.Exec(_watched.NewProcess(pid, init, "/usr/bin/make", "-C", $"/src/{pid}"), init));
            await HostTreePersistenceTests.SendAsync(node, execs);
            missedByReader += (await ReadUntilAsync(received.Reader, _watched.Node, first + Chunk - 1, cancel.Token)).Missed;
        }
        missedByReader += await SyncAsync(node, received.Reader, cancel.Token);
        var droppedBeforeMarker = node.MetricsExport.Value("forkline_stream_dropped_total");

        var marker = _watched.NewProcess(9_999, init, "/bin/marker");
        var sent = Stopwatch.GetTimestamp();
        await HostTreePersistenceTests.SendAsync(node, [_watched.Exec(marker, init)]);
        var (missedToMarker, markerAt) = await ReadUntilAsync(received.Reader, _watched.Node, marker.Pid, cancel.Token);
        var markerDelay = Stopwatch.GetElapsedTime(sent, markerAt);
        missedByReader += missedToMarker + await SyncAsync(node, received.Reader, cancel.Token);
        var dropped = node.MetricsExport.Value("forkline_stream_dropped_total");
        output.WriteLine($"marker after {markerDelay.TotalMilliseconds:F0} ms; dropped for the stalled stream: {droppedBeforeMarker} before the marker, {dropped} in all");

        Assert.Equal(0UL, missedByReader);
        Assert.True(markerDelay < PromptDelivery, $"the reading client got the marker {markerDelay.TotalSeconds:F1} s after it was sent");
        Assert.True(droppedBeforeMarker > 0, "the stalled stream never fell behind: the test did not stall it");
        Assert.Equal(droppedBeforeMarker + 1, dropped);

        // Reading again, the stalled client is told how many it missed: all that were dropped, for it alone.
        var notice = await FirstNoticeAsync(stalled.ResponseStream, cancel.Token);
        Assert.Equal((ulong)dropped, notice.MissedEvents);
        Assert.Contains("rate_limit_info", notice.Json, StringComparison.Ordinal);

        await cancel.CancelAsync();
        await pump;
    }

    /// <summary>Sends an event of the host only the reading client streams and reads up to it; returns the events its stream said it missed.</summary>
    private async Task<ulong> SyncAsync(GatewayNode node, ChannelReader<(Event Event, long At)> received, CancellationToken ct)
    {
        var process = _sync.NewProcess(++_syncPid, null, "/bin/sync");
        await HostTreePersistenceTests.SendAsync(node, [_sync.Exec(process, null)]);
        return (await ReadUntilAsync(received, _sync.Node, process.Pid, ct)).Missed;
    }

    /// <summary>Reads the reading client's events up to the exec of <paramref name="pid"/> on <paramref name="host"/>: the events its stream said it missed meanwhile, and when that exec arrived.</summary>
    private static async Task<(ulong Missed, long At)> ReadUntilAsync(ChannelReader<(Event Event, long At)> received, string host, int pid, CancellationToken ct)
    {
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(ct);
        patience.CancelAfter(TestNodes.Patience);
        var missed = 0UL;
        while (true)
        {
            var (item, at) = await received.ReadAsync(patience.Token);
            missed += item.MissedEvents;
            if (item.Host == host && item.Process?.Pid == pid) return (missed, at);
        }
    }

    /// <summary>
    /// Reads a client's stream as fast as it comes, stamping each event with when it arrived; the stream's
    /// end or failure (the test's own cancellation at its end too) completes the channel with it, so a reader sees why.
    /// </summary>
    private static async Task PumpAsync(IAsyncStreamReader<Event> stream, ChannelWriter<(Event, long)> received, CancellationToken ct)
    {
        try
        {
            while (await stream.MoveNext(ct)) received.TryWrite((stream.Current, Stopwatch.GetTimestamp()));
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
