using System.CommandLine;
using Forkline.Client;
using Forkline.Contracts.Api;
using Google.Protobuf.WellKnownTypes;

namespace Forkline.Commands;

/// <summary>`forkline replay`: a host's persisted exec/exit history in a time window, in order.</summary>
public static class ReplayCommand
{
    public static Command Create()
    {
        var gateway = GatewayCommand.GatewayOption();
        var json = GatewayCommand.JsonOption("each event as a line of the live JSON export (Tetragon's shape)");
        var host = GatewayCommand.HostOption();
        var since = GatewayCommand.TimeOption("--since", "Start of the window");
        since.Required = true;
        var until = GatewayCommand.TimeOption("--until", "End of the window (default: now)");
        var clones = GatewayCommand.ClonesOption();
        var gaps = new Option<bool>("--gaps")
        {
            Description = "With --json: also the gaps (times the host was not watched), as forkline_gap lines, which strict Tetragon readers reject; the human view always shows them",
        };

        var command = new Command("replay", "Print a host's persisted exec/exit history for a time window, oldest first")
        {
            gateway, json, host, since, until, clones, gaps,
        };
        command.SetAction((parse, ct) => GatewayCommand.RunAsync("replay", parse.GetRequiredValue(gateway), ct, async (client, token) =>
        {
            var asJson = parse.GetValue(json);
            var request = new ReplayRequest { Host = parse.GetRequiredValue(host), Gaps = !asJson || parse.GetValue(gaps) };
            if (GatewayCommand.TimeOf(parse, since) is { } from) request.Since = Timestamp.FromDateTime(from);
            if (GatewayCommand.TimeOf(parse, until) is { } to) request.Until = Timestamp.FromDateTime(to);

            using var call = client.Api.Replay(request, cancellationToken: token);
            await EventLines.WriteAllAsync(call.ResponseStream, Console.Out, asJson, token, clones: parse.GetValue(clones));
        }));
        return command;
    }
}
