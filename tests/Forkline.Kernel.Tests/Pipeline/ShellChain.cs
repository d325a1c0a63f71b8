using Forkline.Contracts.Snapshots;

namespace Forkline.Kernel.Tests.Pipeline;

/// <summary>
/// `bash -c 'sh -c "sleep 0.2"'`: bash execs sh in place (same pid, the previous image is the parent),
/// sh forks sleep. Lineage: sleep &lt;- sh &lt;- bash &lt;- the test process.
/// </summary>
internal static class ShellChain
{
    /// <summary>Runs the chain to its end and waits until the pipeline has published sh's exit.</summary>
    public static async Task<(int BashPid, EnrichedExec Sleep)> RunAsync(KernelPipeline pipeline)
    {
        using var bash = Workloads.Start("/bin/bash", "-c", "sh -c \"sleep 0.2\"");
        await Workloads.RunToExitAsync(bash, expectedExitCode: 0);
        var sleep = await pipeline.Events.WaitFor<EnrichedExec>(
            exec => exec.Parent?.Pid == bash.Id && exec.Process.Binary.EndsWith("/sleep", StringComparison.Ordinal), "exec of sleep", KernelPipeline.EventTimeout);
        await pipeline.Events.WaitFor<EnrichedExit>(exit => exit.Process.Pid == bash.Id, "exit of sh", KernelPipeline.EventTimeout);
        return (bash.Id, sleep);
    }
}
