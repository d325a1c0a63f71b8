using System.Net;
using Akka.Actor;
using Forkline.Contracts.Accounting;
using Forkline.Contracts.Ingest;
using Forkline.Forwarding;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Forkline.Gateway.Tests;

/// <summary>
/// A collector leaves a stream that owes it an answer for <see cref="GatewayLinkSettings.AnswerTimeout"/>
/// (a gateway that froze, or whose network path died without closing the connection), and only such a
/// stream: an idle collector's stream stays, however long nothing is said on it.
/// </summary>
public sealed class GatewayLinkAnswerTimeoutTests : IAsyncLifetime
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(1);
    private readonly SilentIngest _gateway = new();
    private readonly PrometheusExport _metrics = new(Prometheus.Metrics.NewCustomRegistry());
    private WebApplication _server = null!;
    private Uri _address = null!;
    private ActorSystem _system = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_gateway);
        _server = builder.Build();
        _server.MapGrpcService<SilentIngest>();
        await _server.StartAsync();
        _address = new Uri(_server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        _system = ActorSystem.Create("gateway-link-answer-timeout-tests");
    }

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        await _server.DisposeAsync();
        _metrics.Dispose();
    }

    [Fact]
    public async Task A_stream_that_answers_nothing_it_was_sent_is_left_for_the_next_gateway()
    {
        var forwarder = StartForwarder();
        await TestNodes.EventuallyAsync(() => Task.FromResult(_gateway.Streams == 1), "the collector streams to the gateway");

        forwarder.ReportRun("node-a", () => new UpstreamCounts("node-a", "test", DateTime.UtcNow, new SourceCounts(1, 0, 0, 0, 0, 1),
            new PipelineCounts(1, 0, 0, 0, 0, 1, 0)));

        await TestNodes.EventuallyAsync(() => Task.FromResult(_gateway.Streams >= 2), "a new stream after the first one stayed silent", TimeSpan.FromSeconds(15));
        Assert.True(_gateway.Received >= 1, "the report reached the silent gateway");
        Assert.True(Changes("unanswered") >= 1, "the given-up stream is counted as unanswered");
    }

    [Fact]
    public async Task A_stream_that_owes_nothing_stays_however_long_it_is_silent()
    {
        StartForwarder();
        await TestNodes.EventuallyAsync(() => Task.FromResult(_gateway.Streams == 1), "the collector streams to the gateway");

        await Task.Delay(4 * AnswerTimeout);

        Assert.Equal(1, _gateway.Streams);
        Assert.Equal(0, Changes("unanswered"));
        Assert.Equal(0, Changes("lost"));
    }

    private GatewayForwarder StartForwarder()
    {
        var link = new GatewayLinkSettings([_address])
        {
            AnswerTimeout = AnswerTimeout, MinReconnectDelay = TimeSpan.FromMilliseconds(100), MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        };
        return GatewayForwarder.Start(_system, new ForwarderDelivery.OverGrpc(link), new ForwarderSettings(), new ForwarderMetrics(_metrics.Meters));
    }

    private double Changes(string linkEvent) => _metrics.Value("forkline_forward_link_changes_total", linkEvent);

    /// <summary>Takes every stream and reads all it is sent, and never answers: a frozen gateway, as its collectors see it.</summary>
    private sealed class SilentIngest : ForklineIngest.ForklineIngestBase
    {
        private int _streams;
        private int _received;

        public int Streams => Volatile.Read(ref _streams);
        public int Received => Volatile.Read(ref _received);

        public override async Task Ingest(IAsyncStreamReader<IngestBatch> requestStream, IServerStreamWriter<IngestAck> responseStream, ServerCallContext context)
        {
            Interlocked.Increment(ref _streams);
            await context.WriteResponseHeadersAsync([]);
            try
            {
                await foreach (var _ in requestStream.ReadAllAsync(context.CancellationToken)) Interlocked.Increment(ref _received);
            }
            catch (Exception e) when (e is IOException || e is OperationCanceledException)
            {
                // The collector left the stream: what this test waits for.
            }
        }
    }
}
