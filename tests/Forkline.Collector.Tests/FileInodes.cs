using System.Diagnostics;
using System.Globalization;

namespace Forkline.Collector.Tests;

internal static class FileInodes
{
    /// <summary>The inode number as coreutils stat prints it: an oracle independent of the code under test.</summary>
    public static ulong Of(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true })!;
        var output = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        return ulong.Parse(output.Trim(), CultureInfo.InvariantCulture);
    }
}
