namespace Forkline.Kernel.Tests;

/// <summary>The cgroups a test creates (each missing part of a path), removed innermost first when it is disposed.</summary>
public sealed class TestCgroups : IDisposable
{
    private readonly List<string> _created = [];

    /// <summary>Creates <paramref name="relative"/> (slash-separated) under <paramref name="hierarchy"/>; returns its full path.</summary>
    public string Create(string hierarchy, string relative)
    {
        var path = hierarchy;
        foreach (var part in relative.Split('/'))
        {
            path = Path.Combine(path, part);
            if (Directory.Exists(path)) continue;
            Directory.CreateDirectory(path);
            _created.Add(path);
        }
        return path;
    }

    /// <summary>A cgroup is removable once its processes have exited: dispose after them.</summary>
    public void Dispose()
    {
        for (var i = _created.Count - 1; i >= 0; i--) Directory.Delete(_created[i]);
        _created.Clear();
    }
}
