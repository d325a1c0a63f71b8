using Microsoft.Win32.SafeHandles;

namespace Forkline.Collector.Native;

/// <summary>Owns a struct bpf_link*; destroying it detaches the program from its hook.</summary>
internal sealed class BpfLinkHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BpfLinkHandle() : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => LibBpf.LinkDestroy(handle) == 0;
}
