using System.CommandLine;

var root = new RootCommand("Forkline: process lineage from the kernel to the fleet");
return await root.Parse(args).InvokeAsync();
