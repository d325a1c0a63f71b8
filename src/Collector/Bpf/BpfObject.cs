using System.Runtime.InteropServices;
using Forkline.Collector.Native;

namespace Forkline.Collector.Bpf;

/// <summary>
/// A BPF object file opened with libbpf: its maps, programs and the links that attach them.
/// Dispose destroys the links (detaching every program) and then closes the object.
/// </summary>
internal sealed unsafe class BpfObject : IDisposable
{
    private const string PrivilegeFix = "run as root or grant CAP_BPF and CAP_PERFMON";
    private readonly BpfObjectHandle _handle;
    private readonly List<BpfLinkHandle> _links = [];

    private BpfObject(string path, BpfObjectHandle handle)
    {
        Path = path;
        _handle = handle;
    }

    public string Path { get; }

    public int LinkCount => _links.Count;

    public static BpfObject Open(string path)
    {
        LibBpfLog.Install();
        var handle = LibBpf.ObjectOpenFile(path, 0);
        if (handle.IsInvalid)
        {
            var error = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new BpfException(
                $"bpf_object__open_file failed for {path}: {Errno.Describe(error)} — rebuild it with `dotnet pwsh ./build.ps1 bpf`", error);
        }
        return new BpfObject(path, handle);
    }

    public nint Map(string name)
    {
        var map = LibBpf.ObjectFindMapByName(_handle, name);
        return map != 0
            ? map
            : throw new BpfException($"map {name} not found in {Path} — the object does not match this collector; rebuild it with `dotnet pwsh ./build.ps1 bpf`");
    }

    public nint Program(string name)
    {
        var program = LibBpf.ObjectFindProgramByName(_handle, name);
        return program != 0
            ? program
            : throw new BpfException($"program {name} not found in {Path} — the object does not match this collector; rebuild it with `dotnet pwsh ./build.ps1 bpf`");
    }

    public int MapFd(string name)
    {
        var fd = LibBpf.MapFd(Map(name));
        return fd >= 0 ? fd : throw new BpfException($"bpf_map__fd failed for map {name} in {Path}: {Errno.Describe(fd)} — load the object first", fd);
    }

    public void SetMaxEntries(string mapName, uint maxEntries)
    {
        var result = LibBpf.MapSetMaxEntries(Map(mapName), maxEntries);
        if (result < 0)
            throw new BpfException($"bpf_map__set_max_entries({mapName}, {maxEntries}) failed: {Errno.Describe(result)} — set sizes before loading", result);
    }

    public void SetAutoload(string programName, bool autoload)
    {
        var result = LibBpf.ProgramSetAutoload(Program(programName), autoload);
        if (result < 0)
            throw new BpfException($"bpf_program__set_autoload({programName}, {autoload}) failed: {Errno.Describe(result)} — set autoload before loading", result);
    }

    /// <summary>
    /// Sets a `const volatile __u32` of the object's .rodata before load. Skeleton-free: the
    /// variable's offset comes from the object's own BTF (the .rodata DATASEC), and the value is
    /// written into the map's initial image that libbpf freezes at load.
    /// </summary>
    public void SetReadOnlyUInt32(string variable, uint value)
    {
        var rodata = Map(".rodata");
        var image = LibBpf.MapInitialValue(rodata, out var imageSize);
        var btf = LibBpf.ObjectBtf(_handle);
        var sectionId = btf == 0 ? -1 : LibBpf.BtfFindByNameKind(btf, ".rodata", LibBpf.BtfKindDatasec);
        if (image == null || sectionId < 0)
            throw new BpfException($"{Path} has no .rodata image or BTF for it, so {variable} cannot be set — build it with clang -g (`dotnet pwsh ./build.ps1 bpf`)");

        var section = LibBpf.BtfTypeById(btf, (uint)sectionId);
        var variables = (LibBpf.BtfVarSecInfo*)(section + 1);
        for (var i = 0; i < section->VariableCount; i++)
        {
            var info = variables[i];
            var type = LibBpf.BtfTypeById(btf, info.Type);
            if (Marshal.PtrToStringUTF8((nint)LibBpf.BtfNameByOffset(btf, type->NameOffset)) != variable) continue;
            if (info.Size != sizeof(uint) || info.Offset + sizeof(uint) > imageSize)
                throw new BpfException($"{variable} in {Path} is {info.Size} bytes at offset {info.Offset} of a {imageSize}-byte .rodata, expected a __u32 — rebuild the object");
            *(uint*)(image + info.Offset) = value;
            return;
        }
        throw new BpfException($"{variable} not found in .rodata of {Path} — the object does not match this collector; rebuild it with `dotnet pwsh ./build.ps1 bpf`");
    }

    public void Load()
    {
        LibBpfLog.ForgetRecentLines();
        var result = LibBpf.ObjectLoad(_handle);
        if (result >= 0) return;

        var program = FailedProgramFromLog();
        var subject = program is null ? Path : $"{Path} (program {program})";
        var fix = -result is Errno.EPERM
            ? PrivilegeFix
            : program is null
                ? "see the libbpf log lines above"
                : $"the kernel rejected program {program}; the libbpf log lines above give the verifier's reason";
        throw new BpfException($"bpf_object__load failed for {subject}: {Errno.Describe(result)} — {fix}", result);
    }

    /// <summary>Attaches a program at the hook its SEC() names (tp_btf, tracepoint, ...).</summary>
    public void Attach(string programName)
    {
        var link = LibBpf.ProgramAttach(Program(programName));
        if (link.IsInvalid)
        {
            var error = Marshal.GetLastPInvokeError();
            link.Dispose();
            var fix = error is Errno.EPERM or Errno.EACCES
                ? PrivilegeFix
                : "the running kernel lacks the hook point this program attaches to; see the libbpf log lines above";
            throw new BpfException($"bpf_program__attach failed for program {programName} in {Path}: {Errno.Describe(error)} — {fix}", error);
        }
        _links.Add(link);
    }

    /// <summary>Attaches a kprobe (kretprobe when retprobe); returns 0 or the positive errno, so callers can skip.</summary>
    public int TryAttachKprobe(string programName, string symbol, ulong cookie, bool retprobe)
    {
        var options = new LibBpf.KprobeOptions(cookie, retprobe);
        var link = LibBpf.ProgramAttachKprobe(Program(programName), symbol, options);
        if (link.IsInvalid)
        {
            var error = Marshal.GetLastPInvokeError();
            link.Dispose();
            return error == 0 ? Errno.EINVAL : error;
        }
        _links.Add(link);
        return 0;
    }

    /// <summary>Destroys every link: no program runs any more, the maps stay readable.</summary>
    public void DetachAll()
    {
        for (var i = _links.Count - 1; i >= 0; i--) _links[i].Dispose();
        _links.Clear();
    }

    public void Dispose()
    {
        DetachAll();
        _handle.Dispose();
    }

    private static string? FailedProgramFromLog()
    {
        // libbpf names the failing program as "prog 'NAME': ..." in its warnings.
        const string marker = "prog '";
        var lines = LibBpfLog.RecentLines();
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var start = lines[i].IndexOf(marker, StringComparison.Ordinal);
            if (start < 0) continue;
            start += marker.Length;
            var end = lines[i].IndexOf('\'', start);
            if (end > start) return lines[i][start..end];
        }
        return null;
    }
}
