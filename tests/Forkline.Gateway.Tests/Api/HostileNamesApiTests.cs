using System.Net;
using System.Text.Json;
using Forkline.Contracts.Api;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Queries;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

/// <summary>What a hostile process calls itself, through the HTTP and gRPC API: the same characters on both.</summary>
public sealed class HostileNamesApiTests : IAsyncLifetime
{
    private static readonly ExecId HostileId = new(Host, 9_000, 900);

    // As the decoder makes them: the byte 0xff that was not UTF-8 is the text \xff.
    private const string Binary = "/tmp/x\n15:00:00.000 exec pid=1 \u001b[2J\u001b]0;owned\u0007\\xff";
    private const string ArgumentLine = "\"\" \"a b\" \"x\\n15:00:00.000 exec pid=1 /bin/fake\" \"\\\\xff\" \"say \\\"hi\\\"\"";

    private static readonly ProcessSnapshot HostileSnapshot = Snapshot(HostileId, BashId, Binary) with
    {
        Arguments = [Binary, "", "a b", "x\n15:00:00.000 exec pid=1 /bin/fake", "\\xff", "say \"hi\""],
    };

    private ApiTestServer _api = null!;

    public async Task InitializeAsync()
    {
        var queries = NewQueries();
        queries.Processes.Add(ProcessRecords.From(HostileSnapshot, live: true));
        _api = await ApiTestServer.StartAsync(queries);
    }

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task HTTP_answers_valid_JSON_that_reads_back_to_the_names_and_the_quoted_arguments()
    {
        using var response = await _api.Http.GetAsync($"/api/v1/processes/{Uri.EscapeDataString(HostileId.Encode())}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(body, character => char.IsControl(character) && character != '\n');
        var process = JsonDocument.Parse(body).RootElement.GetProperty("process");
        Assert.Equal(Binary, process.GetProperty("binary").GetString());
        Assert.Equal(ArgumentLine, process.GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task GRPC_carries_the_same_strings()
    {
        var response = await _api.Grpc.GetProcessAsync(new GetProcessRequest { ExecId = HostileId.Encode() });

        Assert.Equal(Binary, response.Process.Binary);
        Assert.Equal(ArgumentLine, response.Process.Arguments);
    }

    [Fact]
    public async Task A_live_event_quotes_the_arguments_as_a_query_does()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _api.Grpc.StreamEvents(new StreamEventsRequest(), cancellationToken: cancel.Token);
        await _api.Queries.StreamOpened.Task.WaitAsync(cancel.Token);
        _api.Queries.Publish(new EnrichedExec(Host, Boot, HostileId.StartKtime, HostileSnapshot, null, null));

        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var live = call.ResponseStream.Current.Process;
        await cancel.CancelAsync();

        Assert.Equal(Binary, live.Binary);
        Assert.Equal(ArgumentLine, live.Arguments);
    }
}
