using System.CommandLine;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;
using Grpc.Core;

namespace Forkline.Commands;

/// <summary>`forkline events`: the gateway's live event stream, filtered, until Ctrl-C.</summary>
public static class EventsCommand
{
    public static Command Create()
    {
        var gateway = GatewayCommand.GatewayOption();
        var json = GatewayCommand.JsonOption("each event as a line of the live JSON export (Tetragon's shape)");
        var hosts = new Option<string[]>("--host") { Description = "Only these hosts (repeat the option or separate with commas; default: every host)" };
        var binary = new Option<string?>("--binary") { Description = "Only processes whose binary path matches this .NET regular expression" };
        var pid = new Option<int?>("--pid") { Description = "Only this process id" };
        var execId = new Option<string?>("--exec-id") { Description = "Only this process (its exec_id)" };
        var types = new Option<string?>("--type") { Description = "Only these event types, comma separated: exec, exit, clone, hook (default: exec, exit, hook)" };
        var container = GatewayCommand.ContainerOption("processes");
        var pod = GatewayCommand.PodOption("processes");
        var podNamespace = GatewayCommand.PodNamespaceOption("processes");
        var clones = GatewayCommand.ClonesOption();

        var command = new Command("events", "Stream live process events from the gateway, filtered; Ctrl-C ends it")
        {
            gateway, json, hosts, binary, pid, execId, types, container, pod, podNamespace, clones,
        };
        command.SetAction((parse, ct) => GatewayCommand.RunAsync("events", parse.GetRequiredValue(gateway), ct, async (client, token) =>
        {
            var request = new StreamEventsRequest
            {
                BinaryRegex = parse.GetValue(binary) ?? "",
                ExecId = parse.GetValue(execId) ?? "",
                Container = parse.GetValue(container) ?? "",
                Pod = parse.GetValue(pod) ?? "",
                Namespace = parse.GetValue(podNamespace) ?? "",
            };
            if (parse.GetValue(pid) is { } onlyPid) request.Pid = onlyPid;
            foreach (var host in SplitCommas(parse.GetValue(hosts) ?? [])) request.Hosts.Add(host);
            foreach (var type in SplitCommas([parse.GetValue(types) ?? ""]))
                request.Kinds.Add(ApiMessages.ToKind(ApiInput.EventType(type, "--type")));
            // Tetragon has no process_clone: by default the stream holds only what its readers know.
            if (request.Kinds.Count == 0) request.Kinds.Add([EventKind.Exec, EventKind.Exit, EventKind.Hook]);
            if (parse.GetValue(clones) && !request.Kinds.Contains(EventKind.Clone)) request.Kinds.Add(EventKind.Clone);

            using var call = client.Api.StreamEvents(request, cancellationToken: token);
            await EventLines.WriteAllAsync(call.ResponseStream, Console.Out, parse.GetValue(json), token);
        }));
        return command;
    }

    private static IEnumerable<string> SplitCommas(IEnumerable<string> values) =>
        values.SelectMany(value => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
