using System.CommandLine;
using Forkline.Commands;
using Forkline.Hosting;

// A long-running node sets what must be in place before the runtime's first thread (NodeRestart.VariablesFor).
if (args is [var command, ..] && NodeRestart.WithEnvironment(NodeRestart.VariablesFor(command, NativeHeap.IsGlibc())) is { } failed)
{
    Console.Error.WriteLine("forkline: " + failed);
    NativeHeap.LimitArenas();
}

var root = new RootCommand("Forkline: process lineage from the kernel to the fleet");
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(CollectorCommand.Create());
root.Subcommands.Add(EventsCommand.Create());
root.Subcommands.Add(PsCommand.Create());
root.Subcommands.Add(TreeCommand.Create());
root.Subcommands.Add(LineageCommand.Create());
root.Subcommands.Add(ReplayCommand.Create());
root.Subcommands.Add(StatsCommand.Create());
root.Subcommands.Add(GatewayNodeCommand.Create());
root.Subcommands.Add(CollectorNodeCommand.Create());
// A stop (Ctrl-C, SIGTERM) drains the collector, the process actors and the forwarder, each within
// RunCommand's 30 s stop timeout. With System.CommandLine's default of 2 s, Main returned mid-drain and
// Akka's exit hook left the cluster under it: the forwarder dropped every event not yet acknowledged.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(2) });
