using Microsoft.Win32.SafeHandles;

namespace Forkline.Collector.Native;

/// <summary>Owns a struct bpf_object*; closing it unloads its programs and frees its maps.</summary>
internal sealed class BpfObjectHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BpfObjectHandle() : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        LibBpf.ObjectClose(handle);
        return true;
    }
}
