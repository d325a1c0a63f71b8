using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Forkline.Contracts.Ingest;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Grpc.Core;
using Grpc.Net.Client;

namespace Forkline.Forwarding;

/// <summary>
/// A collector's one stream to the gateway cluster, owned by its <see cref="ForwarderActor"/> (the
/// parent): batches and run reports go out on the stream, the host entities' acks come back to the
/// parent. When the stream breaks (a gateway killed, stopped, refusing) the link tries the next
/// gateway after a jittered, doubling delay (0.5 s to 10 s by default), so a thousand collectors
/// do not come back at once; once a gateway takes the new stream the parent is told
/// (<see cref="StreamOpened"/>) and sends everything unacknowledged again. Messages that arrive while
/// no stream is open are not sent: the parent still holds them and sends them again then. A
/// reconciliation (<see cref="ReconcileHost"/>, asked once at start) is held here until a gateway
/// answers it, and sent on every new stream until then. A stream that answers nothing for
/// <see cref="GatewayLinkSettings.AnswerTimeout"/> after it was sent something is given up like a broken one:
/// that, not the connection's keepalive ping, is what leaves a gateway that vanished without closing it, so
/// an idle collector's connection is pinged only once a minute.
/// </summary>
public sealed class GrpcGatewayLink : ReceiveActor, IWithTimers
{
    /// <summary>Told to the parent: a gateway took a new stream; send it everything not acknowledged.</summary>
    public sealed record StreamOpened(Uri Gateway);

    private sealed record Opened(int Generation, AsyncDuplexStreamingCall<IngestBatch, IngestAck> Call, Uri Gateway);

    private sealed record Failed(int Generation, Uri Gateway, Exception Cause);

    private sealed record AckArrived(int Generation, IngestAck Ack);

    private sealed record Reconnect;

    private sealed record AnswerCheck(int Generation);

    private readonly GatewayLinkSettings _settings;
    private readonly ForwarderMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<Uri, GrpcChannel> _channels = [];
    private readonly Metadata _headers = [];
    private readonly Dictionary<string, (ReconcileHost Request, IActorRef ReplyTo)> _reconciling = [];
    private int _next;
    private int _failures;
    private int _generation;
    private AsyncDuplexStreamingCall<IngestBatch, IngestAck>? _call;
    private Channel<IngestBatch>? _outgoing;
    private CancellationTokenSource? _streamLifetime;
    private Uri? _streamGateway;

    /// <summary>When the open stream was first sent something after its last answer; null: it owes nothing since.</summary>
    private DateTime? _unansweredSince;

    public GrpcGatewayLink(GatewayLinkSettings settings, ForwarderMetrics metrics)
    {
        _settings = settings;
        _metrics = metrics;
        _next = Random.Shared.Next(settings.Gateways.Count);
        if (settings.Token is { } token) _headers.Add("authorization", "Bearer " + token);

        Receive<EventBatch>(batch => Send(new IngestBatch { Events = batch }));
        Receive<CollectorRunReport>(report => Send(new IngestBatch { Report = report }));
        Receive<ReconcileHost>(request =>
        {
            _reconciling[request.Host] = (request, Sender);
            Send(new IngestBatch { Reconcile = request });
        });
        Receive<Opened>(OnOpened);
        Receive<Failed>(OnFailed);
        Receive<AckArrived>(OnAck);
        Receive<Reconnect>(_ => Connect());
        Receive<AnswerCheck>(OnAnswerCheck);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(GatewayLinkSettings settings, ForwarderMetrics metrics) =>
        Akka.Actor.Props.Create(() => new GrpcGatewayLink(settings, metrics));

    protected override void PreStart() => Connect();

    protected override void PostStop()
    {
        CloseStream();
        foreach (var channel in _channels.Values) channel.Dispose();
    }

    private void Send(IngestBatch message)
    {
        // No stream: the forwarder holds the message and sends it again once one opens.
        if (_outgoing is null || !_outgoing.Writer.TryWrite(message) || _unansweredSince is not null) return;
        _unansweredSince = DateTime.UtcNow;
        Timers.StartSingleTimer(nameof(AnswerCheck), new AnswerCheck(_generation), _settings.AnswerTimeout);
    }

    private void OnAnswerCheck(AnswerCheck check)
    {
        // An answer since the timer started cleared the mark; a later send started the timer again.
        if (check.Generation != _generation || _unansweredSince is not { } since || _streamGateway is not { } gateway) return;
        _metrics.LinkChanged("unanswered");
        OnFailed(new Failed(_generation, gateway, new TimeoutException($"the gateway answered nothing for {(DateTime.UtcNow - since).TotalSeconds:0.0} s")));
    }

    private void Connect()
    {
        var gateway = _settings.Gateways[_next];
        _next = (_next + 1) % _settings.Gateways.Count;
        var generation = ++_generation;
        _streamLifetime = new CancellationTokenSource();
        var client = new ForklineIngest.ForklineIngestClient(ChannelTo(gateway));
        var call = client.Ingest(_headers, cancellationToken: _streamLifetime.Token);
        var self = Self;
        // The stream counts as open once the gateway sent its headers: it identified this collector and is Up.
        call.ResponseHeadersAsync.WaitAsync(_settings.ConnectTimeout).PipeTo(self,
            success: _ => new Opened(generation, call, gateway),
            failure: cause => new Failed(generation, gateway, cause));
        _call = call;
    }

    private void OnOpened(Opened opened)
    {
        if (opened.Generation != _generation) return;
        _failures = 0;
        _streamGateway = opened.Gateway;
        _metrics.LinkChanged("connected");
        _log.Info("streaming to gateway {0}", opened.Gateway);
        var outgoing = Channel.CreateUnbounded<IngestBatch>(new UnboundedChannelOptions { SingleReader = true });
        _outgoing = outgoing;
        var self = Self;
        var generation = opened.Generation;
        _ = PumpAsync(opened, outgoing.Reader, self);
        foreach (var (request, _) in _reconciling.Values) outgoing.Writer.TryWrite(new IngestBatch { Reconcile = request });
        Context.Parent.Tell(new StreamOpened(opened.Gateway));

        async Task PumpAsync(Opened stream, ChannelReader<IngestBatch> toSend, IActorRef link)
        {
            var writing = WriteAllAsync(stream.Call.RequestStream, toSend);
            try
            {
                await foreach (var ack in stream.Call.ResponseStream.ReadAllAsync()) link.Tell(new AckArrived(generation, ack));
                link.Tell(new Failed(generation, stream.Gateway, new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "the gateway ended the stream"))));
            }
            catch (Exception e) when (e is RpcException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
            {
                link.Tell(new Failed(generation, stream.Gateway, e));
            }
            await writing;
        }
    }

    private static async Task WriteAllAsync(IClientStreamWriter<IngestBatch> stream, ChannelReader<IngestBatch> toSend)
    {
        try
        {
            await foreach (var message in toSend.ReadAllAsync()) await stream.WriteAsync(message);
        }
        catch (Exception e) when (e is RpcException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The stream broke: its reader reports that (Failed); what was not acknowledged is sent again on the next stream.
        }
    }

    private void OnAck(AckArrived arrived)
    {
        if (arrived.Generation != _generation) return;
        _unansweredSince = null;
        switch (arrived.Ack.PayloadCase)
        {
            case IngestAck.PayloadOneofCase.Events:
                Context.Parent.Tell(arrived.Ack.Events);
                break;
            case IngestAck.PayloadOneofCase.Report:
                Context.Parent.Tell(arrived.Ack.Report);
                break;
            case IngestAck.PayloadOneofCase.Deferred:
                Context.Parent.Tell(arrived.Ack.Deferred);
                break;
            case IngestAck.PayloadOneofCase.Reconciled:
                if (_reconciling.Remove(arrived.Ack.Reconciled.Host, out var waiting)) waiting.ReplyTo.Tell(arrived.Ack.Reconciled.Result);
                break;
        }
    }

    private void OnFailed(Failed failed)
    {
        if (failed.Generation != _generation) return;
        CloseStream();
        var delay = NextDelay();
        var refused = failed.Cause is RpcException { StatusCode: StatusCode.PermissionDenied or StatusCode.Unauthenticated };
        _metrics.LinkChanged(refused ? "refused" : "lost");
        var reason = failed.Cause is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : failed.Cause.Message;
        if (refused)
            _log.Error("gateway {0} refused this collector ({1}); check its certificate or token; next attempt in {2:0.0} s", failed.Gateway, reason, delay.TotalSeconds);
        else
            _log.Warning("no stream to gateway {0} ({1}); trying {2} in {3:0.0} s", failed.Gateway, reason, _settings.Gateways[_next], delay.TotalSeconds);
        Timers.StartSingleTimer(nameof(Reconnect), new Reconnect(), delay);
    }

    /// <summary>Doubling from the first delay up to the longest, each drawn from its upper half: spread, never zero.</summary>
    private TimeSpan NextDelay()
    {
        var ceiling = Math.Min(_settings.MaxReconnectDelay.Ticks, _settings.MinReconnectDelay.Ticks << Math.Min(_failures, 20));
        _failures++;
        return TimeSpan.FromTicks(ceiling / 2 + Random.Shared.NextInt64(ceiling / 2 + 1));
    }

    private void CloseStream()
    {
        _outgoing?.Writer.TryComplete();
        _outgoing = null;
        _streamGateway = null;
        _unansweredSince = null;
        Timers.Cancel(nameof(AnswerCheck));
        _streamLifetime?.Cancel();
        _streamLifetime?.Dispose();
        _streamLifetime = null;
        _call?.Dispose();
        _call = null;
    }

    private GrpcChannel ChannelTo(Uri gateway)
    {
        if (_channels.TryGetValue(gateway, out var channel)) return channel;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = _settings.ConnectTimeout,
            // Keeps an idle collector's connection open through NAT and load balancers, and notices a gateway that
            // vanished while nothing was owed; one that vanishes while a batch waits is left after AnswerTimeout.
            // Every 15 s, the pings of 1,000 idle collectors were about 40 of each of three gateways' 220 context switches a second.
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };
        if (gateway.Scheme == Uri.UriSchemeHttps)
        {
            var gateways = new FleetCertificates(_settings.Authority!, new HashSet<string>([FleetRoles.Gateway]));
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = _settings.Certificate is { } certificate ? new X509CertificateCollection { certificate } : null,
                // The fleet CA is the identity of a gateway (addressed by IP or pod name): not the system store, not the host name.
                RemoteCertificateValidationCallback = (_, presented, _, _) =>
                {
                    var refusal = gateways.Refusal(presented as X509Certificate2);
                    if (refusal is not null) _log.Warning("refused gateway {0}: {1}", gateway, refusal);
                    return refusal is null;
                },
            };
        }
        channel = GrpcChannel.ForAddress(gateway, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        _channels[gateway] = channel;
        return channel;
    }
}
