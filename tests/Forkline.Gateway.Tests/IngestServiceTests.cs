using System.Net;
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
    /// The stand-in entity loses the first copies of each batch; the gateway asks again and the collector
    /// gets its ack long before the ask timeout (and its own resend) would bring the batch back.
    /// </summary>
    [Fact]
    public async Task A_batch_the_entity_lost_is_asked_again_and_acknowledged_well_before_the_ask_timeout()
    {
        const int lostCopies = 2;
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(lostCopies)));
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, AskTimeout, AskAgainEvery), _metrics, certificate: null, authority: null, NullLoggerFactory.Instance);
        using var channel = GrpcChannel.ForAddress(_server.Address);
        using var call = new ForklineIngest.ForklineIngestClient(channel).Ingest();
        await call.ResponseHeadersAsync;

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await call.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 7 } });
        using var within = new CancellationTokenSource(AskTimeout / 2);
        Assert.True(await call.ResponseStream.MoveNext(within.Token));

        Assert.Equal(7UL, call.ResponseStream.Current.Events.Seq);
        Assert.True(clock.Elapsed < AskTimeout / 2, $"acknowledged after {clock.Elapsed}");
        // Each lost copy took one more ask; on a stalled host an answered ask may time out before its answer is read, and be asked once more.
        Assert.True(_export.Value("forkline_ingest_messages_total", "asked_again") >= lostCopies, $"asked again {_export.Value("forkline_ingest_messages_total", "asked_again")} times");
        Assert.Equal(1, _export.Value("forkline_ingest_messages_total", "acknowledged"));
    }

    [Fact]
    public async Task A_batch_no_entity_answers_is_given_up_at_the_ask_timeout_and_the_collector_told_to_send_it_again()
    {
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(int.MaxValue)));
        // Several attempts long, so that even a stalled host asks again at least once before giving up.
        var askTimeout = TimeSpan.FromSeconds(3);
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, askTimeout, AskAgainEvery), _metrics, certificate: null, authority: null, NullLoggerFactory.Instance);
        using var channel = GrpcChannel.ForAddress(_server.Address);
        using var call = new ForklineIngest.ForklineIngestClient(channel).Ingest();
        await call.ResponseHeadersAsync;

        await call.RequestStream.WriteAsync(new IngestBatch { Events = new EventBatch { Host = "host-a", ProducerId = "p", Seq = 1 } });

        using var within = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.True(await call.ResponseStream.MoveNext(within.Token));
        Assert.Equal(new Deferred { Host = "host-a", Seq = 1 }, call.ResponseStream.Current.Deferred);
        Assert.Equal(1, _export.Value("forkline_ingest_messages_total", "timed_out"));
        Assert.InRange(_export.Value("forkline_ingest_messages_total", "asked_again"), 1, askTimeout / AskAgainEvery);
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
        var entity = _system.ActorOf(Props.Create(() => new LosingEntity(0)));
        _server = await IngestServer.StartAsync(new IngestSettings(new IPEndPoint(IPAddress.Loopback, 0)),
            new IngestGateway(entity, () => true, AskTimeout, AskAgainEvery), _metrics, certificate: null, authority: null, loggers);
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

    /// <summary>Drops the first <paramref name="copiesToLose"/> copies of each batch, acknowledges the next.</summary>
    private sealed class LosingEntity : ReceiveActor
    {
        private readonly Dictionary<ulong, int> _seen = [];

        public LosingEntity(int copiesToLose) =>
            Receive<EventBatch>(batch =>
            {
                var copies = _seen[batch.Seq] = _seen.GetValueOrDefault(batch.Seq) + 1;
                if (copies > copiesToLose) Sender.Tell(new EventBatchAck { Host = batch.Host, Seq = batch.Seq });
            });
    }
}
