using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Forkline.Gateway.Tests.Kubernetes;

/// <summary>A recorded API server answer: a status code and a file of Recorded/ as the body.</summary>
internal sealed record RecordedAnswer(int Status, string File);

/// <summary>
/// The pods endpoint of a Kubernetes API server on a free loopback port, answering from recorded JSON:
/// each list request takes the next list answer (the last one repeats), each watch request the next
/// watch answer, streamed line by line; past the last, a watch stays open until the client leaves.
/// </summary>
internal sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Queue<RecordedAnswer> _lists;
    private readonly Queue<RecordedAnswer> _watches;
    private readonly Lock _lock = new();
    private readonly List<IQueryCollection> _requests = [];

    private FakeKubernetesApi(WebApplication app, IEnumerable<RecordedAnswer> lists, IEnumerable<RecordedAnswer> watches)
    {
        _app = app;
        _lists = new Queue<RecordedAnswer>(lists);
        _watches = new Queue<RecordedAnswer>(watches);
        app.MapGet("/api/v1/pods", AnswerAsync);
    }

    public Uri Address => new(_app.Urls.First() + "/");

    /// <summary>The query of every request so far, in order.</summary>
    public IReadOnlyList<IQueryCollection> Requests
    {
        get
        {
            lock (_lock) return [.. _requests];
        }
    }

    public static async Task<FakeKubernetesApi> StartAsync(IEnumerable<RecordedAnswer> lists, IEnumerable<RecordedAnswer> watches)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var api = new FakeKubernetesApi(builder.Build(), lists, watches);
        await api._app.StartAsync();
        return api;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        var watch = context.Request.Query["watch"] == "true";
        RecordedAnswer? answer;
        lock (_lock)
        {
            _requests.Add(context.Request.Query);
            var queue = watch ? _watches : _lists;
            answer = queue.Count switch
            {
                0 => null,
                1 when !watch => queue.Peek(),
                _ => queue.Dequeue(),
            };
        }
        if (answer is null)
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }
        context.Response.StatusCode = answer.Status;
        context.Response.ContentType = "application/json";
        var body = await File.ReadAllLinesAsync(Path.Combine(AppContext.BaseDirectory, "Kubernetes", "Recorded", answer.File));
        foreach (var line in body)
        {
            // A watch is a stream of JSON objects, one per line, each flushed as the server sends it.
            await context.Response.WriteAsync(line + "\n");
            await context.Response.Body.FlushAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
