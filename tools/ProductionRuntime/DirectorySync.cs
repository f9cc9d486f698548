using System;
using System.Runtime.InteropServices;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>fsync of a directory, which .NET has no API for: open(O_RDONLY | O_DIRECTORY), fsync, close.</summary>
internal static partial class DirectorySync
{
    private const int EintrRetriesMax = 64;
    private const int ErrnoInterrupted = 4; // EINTR
    private const int ErrnoNotFound = 2; // ENOENT
    private const int ErrnoNotDirectory = 20; // ENOTDIR
    private const int FlagCloseOnExec = 0x80000; // O_CLOEXEC on Linux (02000000 octal, every architecture)

    public static IoResult Sync(string fullPath, string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return IoResult.Fail(IoStatus.IoError, $"sync directory '{path}': only Linux and macOS are supported");
        }
        try
        {
            int fd = -1;
            for (int attempt = 0; fd < 0; attempt++)
            {
                fd = Open(fullPath, OpenDirectoryFlags());
                if (fd < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == ErrnoInterrupted && attempt < EintrRetriesMax)
                    {
                        continue;
                    }
                    IoStatus status = errno is ErrnoNotFound or ErrnoNotDirectory ? IoStatus.NotFound : IoStatus.IoError;
                    return IoResult.Fail(status, $"sync directory '{path}': open: {Describe(errno)}");
                }
            }
            try
            {
                for (int attempt = 0; ; attempt++)
                {
                    if (Fsync(fd) == 0)
                    {
                        return IoResult.Ok;
                    }
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != ErrnoInterrupted || attempt >= EintrRetriesMax)
                    {
                        return IoResult.Fail(IoStatus.IoError, $"sync directory '{path}': fsync: {Describe(errno)}");
                    }
                }
            }
            finally
            {
                // close(2) is not retried on EINTR: on Linux the descriptor is released even then.
                _ = Close(fd);
            }
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            return IoResult.Fail(IoStatus.IoError, $"sync directory '{path}': libc is unavailable: {exception.Message}");
        }
    }

    private static int OpenDirectoryFlags()
    {
        if (OperatingSystem.IsMacOS())
        {
            return 0x100000 | 0x1000000; // O_DIRECTORY | O_CLOEXEC on Darwin; O_RDONLY is 0
        }
        // O_DIRECTORY differs by architecture on Linux: 040000 octal on ARM, 0200000 octal on x86.
        int directory = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x4000 : 0x10000;
        return directory | FlagCloseOnExec;
    }

    private static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
