using System.Reflection;

namespace Forkline.Collector.Tests;

/// <summary>Finds files of the source tree from a test run, wherever FORKLINE_ARTIFACTS put the binaries.</summary>
internal static class RepositoryFiles
{
    public const string HeaderRelativePath = "bpf/forkline.h";

    /// <summary>The checkout holding bpf/forkline.h: above the test binaries, else where the build recorded it.</summary>
    public static string Root { get; } = FindRoot();

    public static string HeaderPath => Path.Combine(Root, HeaderRelativePath);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, HeaderRelativePath))) return directory.FullName;
        }
        var recorded = typeof(RepositoryFiles).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, HeaderRelativePath))) return recorded;
        throw new InvalidOperationException(
            $"{HeaderRelativePath} is neither above {AppContext.BaseDirectory} nor under the build's recorded root '{recorded}'; run the tests from a checkout");
    }
}
