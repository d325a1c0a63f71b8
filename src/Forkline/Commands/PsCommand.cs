using System.CommandLine;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Export;
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
                WriteTable(Console.Out, request.Host, response);
            if (response.More)
                Console.Error.WriteLine($"forkline ps: more processes match than the {response.Processes.Count:N0} shown (the gateway's page); narrow with --binary or --container");
        }));
        return command;
    }

    private static void WriteTable(TextWriter output, string host, ListProcessesResponse response)
    {
        if (response.Processes.Count == 0)
        {
            output.WriteLine($"no processes known for host '{TerminalText.Escape(host)}' (a host is named by its collector's node name; see --host)");
            return;
        }
        var execIdWidth = Math.Max("EXEC_ID".Length, response.Processes.Max(p => p.ExecId.Length));
        output.WriteLine($"{"PID",7} {"PPID",7} {"UID",6} {"STARTED",-24} {"STATE",-18} {"EXEC_ID".PadRight(execIdWidth)} COMMAND");
        foreach (var process in response.Processes.OrderBy(p => p.StartTime?.ToDateTime()).ThenBy(p => p.Pid))
        {
            output.WriteLine(
                $"{process.Pid,7} {ProcessText.ParentPid(process),7} {process.Uid,6} {ProcessText.Time(process.StartTime),-24} " +
                $"{ProcessText.State(process),-18} {TerminalText.Escape(process.ExecId).PadRight(execIdWidth)} {ProcessText.Command(process)}");
        }
    }
}
