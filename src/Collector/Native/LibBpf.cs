using System.Runtime.InteropServices;

namespace Forkline.Collector.Native;

/// <summary>
/// libbpf 1.x entry points. Error model (libbpf 1.0 mode, measured on 1.1): calls that return a
/// pointer give NULL and set errno (read with Marshal.GetLastPInvokeError right after the call);
/// calls that return int give -errno; codes from 4000 up are libbpf's own (libbpf_strerror knows them).
/// The library is named with its soname so no -dev symlink is needed at run time.
/// </summary>
internal static unsafe partial class LibBpf
{
    private const string Library = "libbpf.so.1";

    public const ulong MapNoExist = 1; // BPF_NOEXIST: create only, fail with EEXIST if present
    public const ulong MapAny = 0;     // BPF_ANY

    [LibraryImport(Library, EntryPoint = "bpf_object__open_file", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial BpfObjectHandle ObjectOpenFile(string path, nint options);

    [LibraryImport(Library, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(BpfObjectHandle obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(nint obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_map_by_name", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint ObjectFindMapByName(BpfObjectHandle obj, string name);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint ObjectFindProgramByName(BpfObjectHandle obj, string name);

    [LibraryImport(Library, EntryPoint = "bpf_object__btf")]
    public static partial nint ObjectBtf(BpfObjectHandle obj);

    [LibraryImport(Library, EntryPoint = "bpf_program__set_autoload")]
    public static partial int ProgramSetAutoload(nint program, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(Library, EntryPoint = "bpf_program__attach", SetLastError = true)]
    public static partial BpfLinkHandle ProgramAttach(nint program);

    [LibraryImport(Library, EntryPoint = "bpf_program__attach_kprobe_opts", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial BpfLinkHandle ProgramAttachKprobe(nint program, string functionName, in KprobeOptions options);

    [LibraryImport(Library, EntryPoint = "bpf_link__destroy")]
    public static partial int LinkDestroy(nint link);

    [LibraryImport(Library, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(nint map);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_max_entries")]
    public static partial int MapSetMaxEntries(nint map, uint maxEntries);

    [LibraryImport(Library, EntryPoint = "bpf_map__initial_value")]
    public static partial byte* MapInitialValue(nint map, out nuint size);

    [LibraryImport(Library, EntryPoint = "bpf_map_update_elem")]
    public static partial int MapUpdateElement(int mapFd, void* key, void* value, ulong flags);

    [LibraryImport(Library, EntryPoint = "bpf_map_lookup_elem")]
    public static partial int MapLookupElement(int mapFd, void* key, void* value);

    [LibraryImport(Library, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();

    [LibraryImport(Library, EntryPoint = "btf__find_by_name_kind", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int BtfFindByNameKind(nint btf, string name, uint kind);

    [LibraryImport(Library, EntryPoint = "btf__type_by_id")]
    public static partial BtfType* BtfTypeById(nint btf, uint id);

    [LibraryImport(Library, EntryPoint = "btf__name_by_offset")]
    public static partial byte* BtfNameByOffset(nint btf, uint offset);

    [LibraryImport(Library, EntryPoint = "libbpf_set_print")]
    public static partial nint SetPrint(delegate* unmanaged[Cdecl]<int, byte*, nint, int> printFunction);

    [LibraryImport(Library, EntryPoint = "libbpf_strerror")]
    public static partial int StrError(int error, byte* buffer, nuint size);

    /// <summary>struct bpf_kprobe_opts (libbpf 1.1): sz, bpf_cookie, offset, retprobe.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct KprobeOptions
    {
        public nuint Size;
        public ulong Cookie;
        public nuint Offset;
        public byte Retprobe; // C has a trailing size_t :0, which sequential layout's 8-byte padding matches

        public KprobeOptions(ulong cookie, bool retprobe)
        {
            Size = (nuint)sizeof(KprobeOptions);
            Cookie = cookie;
            Retprobe = retprobe ? (byte)1 : (byte)0;
        }
    }

    /// <summary>struct btf_type head; a DATASEC is followed by vlen btf_var_secinfo entries.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct BtfType
    {
        public uint NameOffset;
        public uint Info;
        public uint SizeOrType;

        public readonly int VariableCount => (int)(Info & 0xffff);
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct BtfVarSecInfo
    {
        public uint Type;
        public uint Offset;
        public uint Size;
    }

    public const uint BtfKindDatasec = 15;
}
