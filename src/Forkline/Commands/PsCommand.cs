using System.CommandLine;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;

namespace Forkline.Commands;

/// <summary>`forkline ps`: a host's processes as the gateway knows them, one line each.</summary>
public static class PsCommand
{
    public static Command Create()
    {
        var gateway = GatewayCommand.GatewayOption();
        var json = GatewayCommand.JsonOption("the gateway's ListProcesses answer as JSON");
        var host = GatewayCommand.HostOption();
        var all = new Option<bool>("--all") { Description = "Also processes that have exited (default: running ones only)" };
        var binary = new Option<string?>("--binary") { Description = "Only processes whose binary path matches this .NET regular expression" };
        var container = GatewayCommand.ContainerOption("live processes");
        var pod = GatewayCommand.PodOption("processes");
        var podNamespace = GatewayCommand.PodNamespaceOption("processes");

        var command = new Command("ps", "List a host's running processes (or all with --all) with their exec_ids")
        {
            gateway, json, host, all, binary, container, pod, podNamespace,
        };
        command.SetAction((parse, ct) => GatewayCommand.RunAsync("ps", parse.GetRequiredValue(gateway), ct, async (client, token) =>
        {
            var request = new ListProcessesRequest
            {
                Host = parse.GetRequiredValue(host),
                BinaryRegex = parse.GetValue(binary) ?? "",
                Container = parse.GetValue(container) ?? "",
                Pod = parse.GetValue(pod) ?? "",
                Namespace = parse.GetValue(podNamespace) ?? "",
            };
            if (!parse.GetValue(all)) request.Live = true;
            var response = await client.Api.ListProcessesAsync(request, GatewayClient.Query(token));

            if (parse.GetValue(json))
                Console.WriteLine(ApiJson.Formatter.Format(response));
            else
                ProcessTableText.Write(Console.Out, request.Host, response);
            if (response.More)
                Console.Error.WriteLine($"forkline ps: more processes match than the {response.Processes.Count:N0} shown (the gateway's page); narrow with --binary or --container");
        }));
        return command;
    }
}
