using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Forkline.Gateway.Api.Http;

/// <summary>
/// A streamed reply over HTTP: each message is one NDJSON line, the text of its line field (for events,
/// the live-export JSON line). Lines are sent once <paramref name="flushBytes"/> are pending: 0 sends
/// each as it comes.
/// </summary>
internal sealed class NdjsonLineWriter<TMessage>(HttpContext http, FieldDescriptor line, int flushBytes) : IServerStreamWriter<TMessage>
    where TMessage : class
{
    public const string ContentType = "application/x-ndjson";

    private int _pending;

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(TMessage message) => WriteAsync(message, http.RequestAborted);

    public async Task WriteAsync(TMessage message, CancellationToken cancellationToken)
    {
        var text = (string)line.Accessor.GetValue((IMessage)message);
        var body = http.Response.BodyWriter;
        var span = body.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length) + 1);
        var written = Encoding.UTF8.GetBytes(text, span);
        span[written] = (byte)'\n';
        body.Advance(written + 1);
        _pending += written + 1;
        if (_pending < flushBytes) return;
        await body.FlushAsync(cancellationToken);
        _pending = 0;
    }
}
