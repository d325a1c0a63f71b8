using System.CommandLine;
using Forkline.Commands;

var root = new RootCommand("Forkline: process lineage from the kernel to the fleet");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(CollectorCommand.Create());
root.Subcommands.Add(EventsCommand.Create());
root.Subcommands.Add(PsCommand.Create());
root.Subcommands.Add(TreeCommand.Create());
root.Subcommands.Add(LineageCommand.Create());
root.Subcommands.Add(ReplayCommand.Create());
root.Subcommands.Add(GatewayNodeCommand.Create());
return await root.Parse(args).InvokeAsync();
