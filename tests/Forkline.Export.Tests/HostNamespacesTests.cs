using Forkline.Export;

namespace Forkline.Export.Tests;

public sealed class HostNamespacesTests : IDisposable
{
    private readonly string _procRoot = Directory.CreateTempSubdirectory("forkline-proc-").FullName;

    public void Dispose() => Directory.Delete(_procRoot, recursive: true);

    private string NsDirectory => Directory.CreateDirectory(Path.Combine(_procRoot, "1", "ns")).FullName;

    [Fact]
    public void Reads_inode_numbers_from_init_namespace_links_and_a_missing_one_as_zero()
    {
        var directory = NsDirectory;
        uint inum = 4026531830;
        foreach (var name in NamespaceKinds.Names)
        {
            if (name == "time_for_children") continue;
            File.CreateSymbolicLink(Path.Combine(directory, name), $"{name}:[{inum++}]");
        }

        var namespaces = HostNamespaces.Read(_procRoot);

        Assert.Equal(4026531830u, namespaces.Uts);
        Assert.Equal(4026531832u, namespaces.Mnt);
        Assert.Equal(4026531836u, namespaces.Time);
        Assert.Equal(0u, namespaces.TimeForChildren);
        Assert.Equal(4026531838u, namespaces.User);
    }

    [Fact]
    public void A_link_that_is_not_a_namespace_fails_naming_it()
    {
        File.CreateSymbolicLink(Path.Combine(NsDirectory, "mnt"), "/somewhere/else");

        var error = Assert.Throws<IOException>(() => HostNamespaces.Read(_procRoot));

        Assert.Contains("mnt", error.Message);
        Assert.Contains("/somewhere/else", error.Message);
    }

    [Fact]
    public void A_missing_proc_fails_with_the_fix()
    {
        var error = Assert.Throws<IOException>(() => HostNamespaces.Read(Path.Combine(_procRoot, "nothing")));

        Assert.Contains("is procfs mounted", error.Message);
    }

    [Fact]
    public void This_hosts_init_namespaces_are_read_or_the_failure_says_why()
    {
        // In a container /proc/1/ns exists but its links cannot be read: that must fail, not read as 0.
        if (new FileInfo("/proc/1/ns/mnt").LinkTarget is null)
        {
            var error = Assert.Throws<IOException>(() => HostNamespaces.Read());
            Assert.Contains("cannot read the link /proc/1/ns/", error.Message);
            return;
        }

        var namespaces = HostNamespaces.Read();

        Assert.NotEqual(0u, namespaces.Mnt);
        Assert.NotEqual(0u, namespaces.Pid);
        Assert.NotEqual(namespaces.Mnt, namespaces.Pid);
    }
}
