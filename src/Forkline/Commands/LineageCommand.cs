using System.CommandLine;
using Forkline.Client;
using Forkline.Contracts.Api;
using Forkline.Gateway.Api;

namespace Forkline.Commands;

/// <summary>`forkline lineage EXEC_ID`: where a process came from (ancestors to init) and what it started.</summary>
public static class LineageCommand
{
    public static Command Create()
    {
        var gateway = GatewayCommand.GatewayOption();
        var json = GatewayCommand.JsonOption("the gateway's GetLineage answer as JSON");
        var execId = new Argument<string>("EXEC_ID") { Description = "The process's exec_id, as `forkline ps` or `forkline events` print it" };
        var depth = new Option<int>("--depth")
        {
            Description = $"Generations of descendants to show (0 for none, at most {ApiInput.MaxDescendantDepth})",
            DefaultValueFactory = _ => ApiInput.DefaultDescendantDepth,
        };

        var command = new Command("lineage", "Show a process's ancestors up to init and its descendants, live or from history")
        {
            execId, gateway, json, depth,
        };
        command.SetAction((parse, ct) => GatewayCommand.RunAsync("lineage", parse.GetRequiredValue(gateway), ct, async (client, token) =>
        {
            var request = new GetLineageRequest { ExecId = parse.GetRequiredValue(execId), DescendantDepth = parse.GetValue(depth) };
            var lineage = await client.Api.GetLineageAsync(request, GatewayClient.Query(token));

            if (parse.GetValue(json))
            {
                Console.WriteLine(ApiJson.Formatter.Format(lineage));
                return;
            }
            var family = new List<Process>(lineage.Ancestors.Count + 1 + lineage.Descendants.Count);
            family.AddRange(lineage.Ancestors);
            family.Add(lineage.Process);
            family.AddRange(lineage.Descendants);
            ProcessTreeText.Write(Console.Out, family, marked: lineage.Process.ExecId);
        }));
        return command;
    }
}
