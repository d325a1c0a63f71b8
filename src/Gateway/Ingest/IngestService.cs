using System.Diagnostics;
using Akka.Actor;
using Forkline.Contracts.Ingest;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Telemetry;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Ingest;

/// <summary>
/// The gateway's end of a collector's stream: each batch or run report goes to its host's entity
/// (wherever in the cluster it lives) and the entity's ack goes back once the entity took it. Several
/// asks are in flight per stream; acks return in the order the entities answer.
/// </summary>
public sealed class IngestService(IngestGateway gateway, IngestIdentity identity, GatewayMetrics metrics, ILogger<IngestService> log)
    : ForklineIngest.ForklineIngestBase
{
    public override async Task Ingest(IAsyncStreamReader<IngestBatch> requestStream, IServerStreamWriter<IngestAck> responseStream, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        var host = identity.HostOf(http.Connection.ClientCertificate, context.RequestHeaders.GetValue("authorization"));
        if (!gateway.IsUp())
        {
            metrics.IngestRefused("gateway_not_up");
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "this gateway is not an Up member of its cluster (yet, or any more): try another"));
        }
        // Headers first: the collector counts the stream as open (and resends what it holds) only once a gateway took it.
        await context.WriteResponseHeadersAsync([]);
        metrics.IngestStreamOpened();
        var stream = new AckStream(responseStream);
        var how = "reset";
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var (claimed, message) = request.PayloadCase switch
                {
                    IngestBatch.PayloadOneofCase.Events => (request.Events.Host, (object)request.Events),
                    IngestBatch.PayloadOneofCase.Report => (request.Report.Host, request.Report),
                    IngestBatch.PayloadOneofCase.Reconcile => (request.Reconcile.Host, request.Reconcile),
                    _ => throw Malformed(),
                };
                identity.Demand(host, claimed);
                await stream.Window.WaitAsync(context.CancellationToken);
                _ = AskEntityAsync(claimed, message, stream, context.CancellationToken);
            }
            // The collector closed its side (it stops): the acks of what it sent last still go back.
            for (var i = 0; i < AckStream.MaxAsksInFlight; i++) await stream.Window.WaitAsync(context.CancellationToken);
            how = "closed";
        }
        catch (Exception e) when (e is IOException || (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            // The collector reset its stream, its connection broke, or this gateway stops: an everyday end of a
            // stream, not a fault of the service (the collector sends what was not acknowledged again on its next
            // stream), so a count and a debug line instead of the gRPC host's error line with a stack trace.
            log.LogDebug("the stream of collector {Host} ended without being closed: {Reason}", host, e.Message);
        }
        finally
        {
            metrics.IngestStreamClosed(how);
        }
    }

    private async Task AskEntityAsync(string host, object message, AckStream stream, CancellationToken streamEnded)
    {
        try
        {
            if (await AckOfAsync(host, message, streamEnded) is not { } ack) return;
            await stream.WriteAsync(ack);
            if (ack.PayloadCase != IngestAck.PayloadOneofCase.Deferred) metrics.IngestMessage("acknowledged");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or OperationCanceledException)
        {
            // The stream ended before the entity answered: the collector sends it again on its next stream.
            metrics.IngestMessage("stream_ended");
        }
        finally
        {
            stream.Window.Release();
        }
    }

    /// <summary>The entity's answer as the collector reads it; null when there is nothing to tell it.</summary>
    private async Task<IngestAck?> AckOfAsync(string host, object message, CancellationToken streamEnded)
    {
        object answer;
        try
        {
            answer = await AskUntilAnsweredAsync(message, streamEnded);
        }
        catch (AskTimeoutException)
        {
            metrics.IngestMessage("timed_out");
            // A batch goes again at once (the collector's own resend waits longer each time); a run report comes
            // again with the collector's next report anyway.
            return message is EventBatch batch ? new IngestAck { Deferred = new Deferred { Host = host, Seq = batch.Seq } } : null;
        }
        switch (answer)
        {
            case EventBatchAck events:
                return new IngestAck { Events = events };
            case CollectorRunReportAck report:
                return new IngestAck { Report = report };
            case HostReconciled reconciled:
                return new IngestAck { Reconciled = new Reconciled { Host = host, Result = reconciled } };
            default:
                metrics.IngestMessage("unexpected_answer");
                log.LogWarning("a host entity answered {Answer} to an ingested message; not acknowledged, the collector sends it again", answer.GetType().Name);
                return null;
        }
    }

    /// <summary>
    /// Asks the host's entity once, until <see cref="IngestGateway.AskTimeout"/>, the stream's end, or a gateway leaving the
    /// cluster: a message to a shard that lived on a gateway just killed is lost until the cluster removed that gateway and
    /// the shard moved. While that is unsettled (<see cref="GatewayDepartures.Unsettled"/>) the entity is asked again every
    /// <see cref="IngestGateway.AskAgainEvery"/>, so the moved entity gets it within that interval, where the collector's
    /// own resend would come only after its ack timeout (5 s, then doubling). At other times an unanswered ask is one the
    /// entity is busy with: a second copy would only queue behind it, and on a loaded cluster the copies were the load.
    /// The entity takes a batch it already persisted as a duplicate and acknowledges it again.
    /// </summary>
    private async Task<object> AskUntilAnsweredAsync(object message, CancellationToken streamEnded)
    {
        var asking = Stopwatch.StartNew();
        while (true)
        {
            var left = gateway.AskTimeout - asking.Elapsed;
            var attempt = gateway.Departures.Unsettled && left > gateway.AskAgainEvery ? gateway.AskAgainEvery : left;
            using var attemptEnds = CancellationTokenSource.CreateLinkedTokenSource(streamEnded, gateway.Departures.Next);
            try
            {
                return await gateway.HostTrees.Ask<object>(message, attempt, attemptEnds.Token);
            }
            catch (Exception e) when (e is AskTimeoutException || (e is OperationCanceledException && !streamEnded.IsCancellationRequested))
            {
                // Too little time left for another attempt: given up as one whole ask (the collector is told to send it again).
                if (asking.Elapsed >= gateway.AskTimeout - MinimumAttempt)
                {
                    if (e is AskTimeoutException) throw;
                    throw new AskTimeoutException($"no answer within {gateway.AskTimeout}");
                }
                metrics.IngestMessage("asked_again");
            }
        }
    }

    /// <summary>An attempt shorter than this is not worth a message: the ask times out instead.</summary>
    private static readonly TimeSpan MinimumAttempt = TimeSpan.FromMilliseconds(100);

    /// <summary>One stream's response side: gRPC allows one write at a time.</summary>
    private sealed class AckStream(IServerStreamWriter<IngestAck> responses)
    {
        /// <summary>Asks per stream at a time; a collector's own in-flight window is smaller, so this only bounds a misbehaving one.</summary>
        public const int MaxAsksInFlight = 64;

        private readonly SemaphoreSlim _writing = new(1);

        public SemaphoreSlim Window { get; } = new(MaxAsksInFlight);

        public async Task WriteAsync(IngestAck ack)
        {
            await _writing.WaitAsync();
            try
            {
                await responses.WriteAsync(ack);
            }
            finally
            {
                _writing.Release();
            }
        }
    }

    private RpcException Malformed()
    {
        metrics.IngestRefused("malformed");
        return new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, "an ingest message carries no event batch, run report or reconciliation"));
    }
}

/// <summary>What the ingest service needs of its gateway node.</summary>
/// <param name="HostTrees">The host-entity shard region.</param>
/// <param name="IsUp">Whether the node is an Up member: before that its region cannot reach any entity.</param>
/// <param name="AskTimeout">How long a batch waits for its entity's ack in all, before the collector is told to send it again (<see cref="Deferred"/>).</param>
/// <param name="Departures">When gateways left the cluster: only then is an unanswered batch sent to its entity again.</param>
/// <param name="AskAgainInterval">While a departure is unsettled, how long one attempt waits before the batch is sent to the entity again (default 2 s).</param>
public sealed record IngestGateway(IActorRef HostTrees, Func<bool> IsUp, TimeSpan AskTimeout, GatewayDepartures Departures, TimeSpan? AskAgainInterval = null)
{
    public TimeSpan AskAgainEvery => AskAgainInterval ?? TimeSpan.FromSeconds(2);
}
