using System.CommandLine;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Export;
using Forkline.Gateway.Api;

namespace Forkline.Commands;

/// <summary>`forkline tree`: a host's live process tree.</summary>
public static class TreeCommand
{
    public static Command Create()
    {
        var gateway = GatewayCommand.GatewayOption();
        var json = GatewayCommand.JsonOption("the live processes as the gateway's ListProcesses JSON (the tree follows parent_exec_id)");
        var host = GatewayCommand.HostOption();

        var command = new Command("tree", "Draw a host's live process tree") { gateway, json, host };
        command.SetAction((parse, ct) => GatewayCommand.RunAsync("tree", parse.GetRequiredValue(gateway), ct, async (client, token) =>
        {
            var request = new ListProcessesRequest { Host = parse.GetRequiredValue(host), Live = true, Limit = ApiInput.MaxListLimit };
            var response = await client.Api.ListProcessesAsync(request, GatewayClient.Query(token));

            if (parse.GetValue(json))
                Console.WriteLine(ApiJson.Formatter.Format(response));
            else if (response.Processes.Count == 0)
                Console.WriteLine($"no live processes known for host '{TerminalText.Escape(request.Host)}' (a host is named by its collector's node name; see --host)");
            else
                ProcessTreeText.Write(Console.Out, response.Processes);
            if (response.More)
                Console.Error.WriteLine($"forkline tree: the host has more than {ApiInput.MaxListLimit:N0} live processes; the tree shows the earliest started");
        }));
        return command;
    }
}
