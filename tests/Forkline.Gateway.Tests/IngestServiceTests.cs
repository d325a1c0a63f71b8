using System.Net;
using System.Runtime.CompilerServices;
using Akka.Actor;
using Forkline.Contracts.Ingest;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Ingest;
using Forkline.Gateway.Telemetry;
using Forkline.Hosting;
using Forkline.Testing;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Forkline.Gateway.Tests;

public sealed class IngestServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan AskAgainEvery = TimeSpan.FromMilliseconds(300);

    private readonly ActorSystem _system = ActorSystem.Create("ingest-tests");
    private readonly PrometheusExport _export = new(Metrics.NewCustomRegistry());
    private readonly GatewayMetrics _metrics;
    private IngestServer? _server;

    public IngestServiceTests() => _metrics = new GatewayMetrics(_export.Meters);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        await _system.Terminate();
        _export.Dispose();
    }

    /// <summary>
    /// What a shard on a gateway killed a moment ago does to a message: nothing, until the cluster moved it.
    /// The stand-in entity loses the first copies of each batch; once a gateway left, the ingest asks again and
    /// the collector gets its ack long before the ask timeout (and its own resend) would bring the batch back.
    /// </summary>
    [Fact]
    public async Task A_batch_lost_after_a_gateway_left_is_asked_again_and_acknowledged_well_before_the_ask_timeout()
    {
        const int lostCopies = 2;
        var departures = new GatewayDepartures(TimeSpan.FromMinutes(1));
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(lostCopies, null)));
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, AskTimeout, departures, AskAgainEvery), _metrics, certificate: null, authority: null, NullLoggerFactory.Instance);
        using var channel = GrpcChannel.ForAddress(_server.Address);
        using var call = new ForklineIngest.ForklineIngestClient(channel).Ingest();
        await call.ResponseHeadersAsync;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await call.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 7 } });
        departures.Departed();
        using var within = new CancellationTokenSource(AskTimeout / 2);
        Assert.True(await call.ResponseStream.MoveNext(within.Token));

        Assert.Equal(7UL, call.ResponseStream.Current.Events.Seq);
        Assert.True(clock.Elapsed < AskTimeout / 2, $"acknowledged after {clock.Elapsed}");
        // Each lost copy took one more ask; on a stalled host an answered ask may time out before its answer is read, and be asked once more.
        Assert.True(_export.Value("forkline_ingest_messages_total", "asked_again") >= lostCopies, $"asked again {_export.Value("forkline_ingest_messages_total", "asked_again")} times");
        Assert.Equal(1, _export.Value("forkline_ingest_messages_total", "acknowledged"));
    }

    /// <summary>
    /// An entity busy for longer than the ask-again interval (a loaded cluster) gets each batch once: copies sent while
    /// no gateway left would only queue behind the first, and on a simulated fleet they were most of the gateways' load.
    /// </summary>
    [Fact]
    public async Task A_batch_an_entity_is_slow_to_answer_is_not_sent_again_while_no_gateway_left()
    {
        var received = new StrongBox<int>();
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(0, received, AskAgainEvery * 5)));
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, AskTimeout, new GatewayDepartures(TimeSpan.FromMinutes(1)), AskAgainEvery),
            _metrics, certificate: null, authority: null, NullLoggerFactory.Instance);
        using var channel = GrpcChannel.ForAddress(_server.Address);
        using var call = new ForklineIngest.ForklineIngestClient(channel).Ingest();
        await call.ResponseHeadersAsync;

        await call.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 3 } });
        using var within = new CancellationTokenSource(AskTimeout);
        Assert.True(await call.ResponseStream.MoveNext(within.Token));

        Assert.Equal(3UL, call.ResponseStream.Current.Events.Seq);
        Assert.Equal(1, Volatile.Read(ref received.Value));
        Assert.Equal(0, _export.Value("forkline_ingest_messages_total", "asked_again"));
    }

    [Fact]
    public async Task A_batch_no_entity_answers_is_given_up_at_the_ask_timeout_and_the_collector_told_to_send_it_again()
    {
        var received = new StrongBox<int>();
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(int.MaxValue, received)));
        // Several attempts long, so that even a stalled host asks again at least once before giving up.
        var askTimeout = TimeSpan.FromSeconds(3);
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, askTimeout, new GatewayDepartures(TimeSpan.FromMinutes(1)), AskAgainEvery), _metrics, certificate: null, authority: null, NullLoggerFactory.Instance);
        using var channel = GrpcChannel.ForAddress(_server.Address);
        using var call = new ForklineIngest.ForklineIngestClient(channel).Ingest();
        await call.ResponseHeadersAsync;

        await call.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 1 } });

        using var within = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.True(await call.ResponseStream.MoveNext(within.Token));
        Assert.Equal(new Deferred { Host = "host-a", Seq = 1 }, call.ResponseStream.Current.Deferred);
        Assert.Equal(1, _export.Value("forkline_ingest_messages_total", "timed_out"));
        // No gateway left meanwhile: the entity was asked once, and the collector sends it again.
        Assert.Equal(0, _export.Value("forkline_ingest_messages_total", "asked_again"));
        Assert.Equal(1, Volatile.Read(ref received.Value));
        Assert.Equal(0, _export.Value("forkline_ingest_messages_total", "acknowledged"));
    }

    /// <summary>
    /// A collector that stops without closing its side (killed, or its connection broke) ends its stream with a
    /// reset: an everyday end, counted, not the gRPC host's error line with a stack trace on the gateway's log.
    /// </summary>
    [Fact]
    public async Task A_stream_the_collector_resets_is_counted_as_reset_and_logs_no_error()
    {
        var loggers = new CapturingLogger();
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(0, null)));
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, AskTimeout, new GatewayDepartures(TimeSpan.FromMinutes(1)), AskAgainEvery), _metrics, certificate: null, authority: null, loggers);
        using var channel = GrpcChannel.ForAddress(_server.Address);
        var client = new ForklineIngest.ForklineIngestClient(channel);

        using (var closing = client.Ingest())
        {
            await closing.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 1 } });
            Assert.True(await closing.ResponseStream.MoveNext(CancellationToken.None));
            await closing.RequestStream.CompleteAsync();
            Assert.False(await closing.ResponseStream.MoveNext(CancellationToken.None));
        }
        var resetting = client.Ingest();
        await resetting.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 2 } });
        Assert.True(await resetting.ResponseStream.MoveNext(CancellationToken.None));
        resetting.Dispose();

        await WaitUntil(() => _export.Value("forkline_ingest_streams_ended_total", "reset") == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(1, _export.Value("forkline_ingest_streams_ended_total", "closed"));
        Assert.Equal(0, _export.Value("forkline_ingest_streams"));
        Assert.Empty(loggers);
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan within)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > within) throw new TimeoutException($"not within {within}");
            await Task.Delay(50);
        }
    }

    /// <summary>Drops the first <paramref name="copiesToLose"/> copies of each batch, acknowledges the next (after <paramref name="answerAfter"/>); counts the copies it got.</summary>
    private sealed class LosingEntity : ReceiveActor
    {
        private readonly Dictionary<ulong, int> _seen = [];

        public LosingEntity(int copiesToLose, StrongBox<int>? received, TimeSpan answerAfter = default) =>
            Receive<EventBatch>(batch =>
            {
                if (received is not null) Interlocked.Increment(ref received.Value);
                var copies = _seen[batch.Seq] = _seen.GetValueOrDefault(batch.Seq) + 1;
                if (copies <= copiesToLose) return;
                var ack = new EventBatchAck { Host = batch.Host, Seq = batch.Seq };
                if (answerAfter == default) Sender.Tell(ack);
                else Context.System.Scheduler.ScheduleTellOnce(answerAfter, Sender, ack, Self);
            });
    }
}
