using System;
using System.Runtime.InteropServices;

namespace Kernel.Persist.Native;

/// <summary>
/// zstd through the reference C library (libzstd.so.1), bound with <see cref="LibraryImportAttribute"/>. The
/// library is deterministic for a given level and version, which is all a simulated run needs.
/// </summary>
/// <remarks>Safe to share: each thread reuses its own zstd context (<see cref="ZstdContext"/>) instead of creating one per call.</remarks>
public sealed partial class ZstdCompressor : ICompressor
{
    private const string Library = "libzstd.so.1";

    /// <summary>
    /// Level 1, zstd's fastest regular level. On 1 MiB of encoded rows (an int64, an int64 and a short string each),
    /// the zstd command line's benchmark on this project's 2-vCPU test machine compressed at 346 MB/s to 3.27x
    /// with level 1 and at 219 MB/s to 3.21x with level 3 (zstd's default). Level 3 was slower than the disk it
    /// writes to, for no better ratio. Decompression runs at about 1 GB/s either way.
    /// </summary>
    public const int DefaultLevel = 1;

    private readonly int _level;

    public ZstdCompressor(int level = DefaultLevel)
    {
        _level = level;
    }

    public static ZstdCompressor Shared { get; } = new();

    public string Name => "zstd";

    public byte[] Compress(ReadOnlySpan<byte> source)
    {
        byte[] destination = System.Buffers.ArrayPool<byte>.Shared.Rent(CompressBound(source.Length));
        try
        {
            int written = Compress(source, destination);
            return destination.AsSpan(0, written).ToArray();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(destination);
        }
    }

    public int CompressBound(int sourceLength)
    {
        nuint bound = ZSTD_compressBound((nuint)sourceLength);
        if (ZSTD_isError(bound) != 0 || bound > int.MaxValue)
        {
            throw new InvalidOperationException($"zstd cannot compress {sourceLength} bytes in one frame");
        }
        return (int)bound;
    }

    public unsafe int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < CompressBound(source.Length))
        {
            throw new ArgumentException($"a destination of {destination.Length} bytes is below the bound for {source.Length} bytes", nameof(destination));
        }
        nuint written;
        ZstdContext context = t_compression ??= ZstdContext.Create(compression: true);
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            written = ZSTD_compressCCtx(context.DangerousGetHandle(), dst, (nuint)destination.Length, src, (nuint)source.Length, _level);
        }
        if (ZSTD_isError(written) != 0)
        {
            // Compression into a buffer of compressBound bytes cannot fail except through a bug or memory exhaustion.
            throw new InvalidOperationException("zstd compression failed: " + ErrorName(written));
        }
        return (int)written;
    }

    public unsafe bool TryDecompress(ReadOnlySpan<byte> source, int expectedLength, out byte[] result, out string error)
    {
        result = [];
        if (expectedLength < 0)
        {
            error = $"negative expected length {expectedLength}";
            return false;
        }
        byte[] destination = new byte[expectedLength];
        nuint written;
        ZstdContext context = t_decompression ??= ZstdContext.Create(compression: false);
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            // An empty span may give a null pointer; zstd then reports an error for the missing frame header.
            written = ZSTD_decompressDCtx(context.DangerousGetHandle(), dst, (nuint)destination.Length, src, (nuint)source.Length);
        }
        if (ZSTD_isError(written) != 0)
        {
            error = "zstd: " + ErrorName(written);
            return false;
        }
        if (written != (nuint)expectedLength)
        {
            error = $"zstd frame expanded to {written} bytes, expected {expectedLength}";
            return false;
        }
        result = destination;
        error = "";
        return true;
    }

    private static unsafe string ErrorName(nuint code)
    {
        byte* name = ZSTD_getErrorName(code);
        return name is null ? "unknown error" : Marshal.PtrToStringUTF8((nint)name) ?? "unknown error";
    }

    // One compression and one decompression context per thread, reused by every call on it: the one-shot
    // ZSTD_compress and ZSTD_decompress create and free a context per call, which costs more than the work for
    // the small parts and states persist writes on every commit. A context is only ever used by its thread; it is
    // freed when its thread's statics are collected.
    [ThreadStatic]
    private static ZstdContext? t_compression;

    [ThreadStatic]
    private static ZstdContext? t_decompression;

    /// <summary>A zstd compression or decompression context, freed with its handle.</summary>
    private sealed class ZstdContext : SafeHandle
    {
        private readonly bool _compression;

        private ZstdContext(bool compression)
            : base(0, ownsHandle: true)
        {
            _compression = compression;
        }

        public override bool IsInvalid => handle == 0;

        public static ZstdContext Create(bool compression)
        {
            var context = new ZstdContext(compression);
            context.SetHandle(compression ? ZSTD_createCCtx() : ZSTD_createDCtx());
            return context.IsInvalid
                ? throw new InvalidOperationException($"zstd could not create a {(compression ? "" : "de")}compression context (out of memory)")
                : context;
        }

        protected override bool ReleaseHandle()
        {
            _ = _compression ? ZSTD_freeCCtx(handle) : ZSTD_freeDCtx(handle);
            return true;
        }
    }

    [LibraryImport(Library)]
    private static partial nint ZSTD_createCCtx();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_freeCCtx(nint context);

    [LibraryImport(Library)]
    private static unsafe partial nuint ZSTD_compressCCtx(nint context, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

    [LibraryImport(Library)]
    private static partial nint ZSTD_createDCtx();

    [LibraryImport(Library)]
    private static partial nuint ZSTD_freeDCtx(nint context);

    [LibraryImport(Library)]
    private static unsafe partial nuint ZSTD_decompressDCtx(nint context, byte* dst, nuint dstCapacity, byte* src, nuint compressedSize);

    [LibraryImport(Library)]
    private static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(Library)]
    private static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Library)]
    private static unsafe partial byte* ZSTD_getErrorName(nuint code);
}
