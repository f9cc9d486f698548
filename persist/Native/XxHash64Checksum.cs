using System;
using System.Runtime.InteropServices;

namespace Kernel.Persist.Native;

/// <summary>xxHash64 through the reference C library (libxxhash.so.0), bound with <see cref="LibraryImportAttribute"/>.</summary>
/// <remarks>Stateless and safe to share. The seed is fixed at 0 so checksums are comparable across builds.</remarks>
public sealed partial class XxHash64Checksum : IChecksum
{
    private const string Library = "libxxhash.so.0";

    public static XxHash64Checksum Shared { get; } = new();

    public unsafe ulong Hash(ReadOnlySpan<byte> data)
    {
        fixed (byte* input = data)
        {
            return XXH64(input, (nuint)data.Length, 0);
        }
    }

    [LibraryImport(Library)]
    private static unsafe partial ulong XXH64(byte* input, nuint length, ulong seed);
}
